export * from './compare.js';
export * from './primitiveCases.js';
export * from './flowCases.js';
export * from './conformance.js';
