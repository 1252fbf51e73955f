/**
 * The ONNX Runtime engines a flow can run on. `ort-node-*` use onnxruntime-node (the
 * native library; `@bijective/backend-onnx/node`), `ort-web-*` onnxruntime-web (WebAssembly,
 * and WebGPU in browsers; `@bijective/backend-onnx/web`, or `/node` for `ort-web-wasm` in Node).
 */
export const ORT_ENGINES = ['ort-node-cpu', 'ort-node-cuda', 'ort-node-tensorrt', 'ort-node-webgpu', 'ort-web-wasm', 'ort-web-webgpu'] as const;
export type OrtEngine = (typeof ORT_ENGINES)[number];

/** Whether an engine can run here, and if not, why (and what would make it run). */
export interface EngineStatus {
  engine: OrtEngine;
  available: boolean;
  /** Why not (or, when available, what it runs on). */
  reason: string;
}

/** The ONNX Runtime execution provider behind each engine. */
export const EXECUTION_PROVIDER: Readonly<Record<OrtEngine, string>> = {
  'ort-node-cpu': 'cpu',
  'ort-node-cuda': 'cuda',
  'ort-node-tensorrt': 'tensorrt',
  'ort-node-webgpu': 'webgpu',
  'ort-web-wasm': 'wasm',
  'ort-web-webgpu': 'webgpu',
};

/** Asking for an engine that cannot run here: says why, and which engines can. */
export class EngineUnavailableError extends Error {
  override name = 'EngineUnavailableError';
  constructor(
    readonly engine: string,
    readonly statuses: readonly EngineStatus[],
  ) {
    const own = statuses.find((s) => s.engine === engine);
    const available = statuses.filter((s) => s.available).map((s) => s.engine);
    const why = own ? own.reason : `unknown engine; the engines are ${ORT_ENGINES.join(', ')}`;
    super(`engine '${engine}' is not available: ${why}. Available here: ${available.length ? available.join(', ') : 'none'}.`);
  }
}

export function isOrtEngine(name: string): name is OrtEngine {
  return (ORT_ENGINES as readonly string[]).includes(name);
}
