export * from './atomic.js';
export * from './checkpoint.js';
export * from '../train/fs-checkpoint.js';
