/**
 * `@bijective/models`, the browser-safe entry: presets, the 2-D datasets, batching,
 * evaluation and rendering (PNG bytes). Nothing here imports a Node built-in, so a bundler
 * (Vite, esbuild) takes it as is. File-backed datasets (IDX, Fashion-MNIST, MNIST), the shipped
 * checkpoints on disk and the Node engines are in `@bijective/models/node`.
 */
export * from './presets/common.js';
export * from './presets/nice.js';
export * from './presets/realnvp.js';
export * from './presets/nsf.js';
export * from './presets/glow.js';
export * from './presets/mintnet.js';
export * from './presets/autoregressive.js';
export * from './presets/gaussianization.js';
export * from './presets/registry.js';
export * from './datasets/errors.js';
export * from './datasets/toy2d.js';
export * from './datasets/mixture.js';
export * from './datasets/images.js';
export * from './datasets/dataset.js';
export * from './datasets/batches.js';
export * from './evaluate.js';
export * from './latent.js';
export * from './render.js';
