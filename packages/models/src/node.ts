/**
 * `@bijective/models/node`: everything in the browser-safe entry, plus the Node-only parts —
 * IDX files (gzip), Fashion-MNIST and MNIST loaders, datasets by name, the shipped checkpoints
 * on disk, and the engines this process can open (tfjs-node/wasm, ONNX Runtime for Node).
 */
export * from './index.js';
export * from './datasets/idx.js';
export * from './datasets/fashionMnist.js';
export * from './datasets/mnist.js';
export * from './datasets/registry.js';
export * from './engines.js';
export * from './shipped.js';
