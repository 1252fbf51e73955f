export * from './atomic.js';
export * from './checkpoint.js';
