/** URL paths the bench server serves and the page fetches from (browser-safe constants). */
export const ASSET_PATHS = {
  page: '/',
  script: '/bench-page.js',
  /** onnxruntime-web's dist folder (its .wasm and .mjs loaders). */
  ortWasm: '/ort/',
  /** @tensorflow/tfjs-backend-wasm's .wasm files. */
  tfjsWasm: '/tfjs-wasm/',
  /** `<weights><preset>`: the preset's float32 weights as safetensors. */
  weights: '/weights/',
} as const;
