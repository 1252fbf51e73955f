import type { EngineStatus } from '@bijective/core';

/**
 * The engines a browser can have, in the order the page prefers them when it picks a default:
 * a hardware GPU first (onnxruntime-web's WebGPU, then tfjs' WebGPU and WebGL), then
 * WebAssembly (onnxruntime-web, then tfjs), then plain JavaScript. A GPU engine whose adapter
 * is a software one (SwiftShader, llvmpipe: headless browsers, GPU blocklists) is listed but
 * never the default, since it runs slower than WebAssembly. Once the mini-bench has run, the
 * page offers its fastest engine instead.
 */
export const BROWSER_ENGINES = ['ort-web-webgpu', 'tfjs-webgpu', 'tfjs-webgl', 'ort-web-wasm', 'tfjs-wasm', 'tfjs-cpu', 'reference'] as const;

export interface BrowserEngine extends EngineStatus {
  /** The adapter or renderer is a software one (only for GPU engines). */
  software?: string;
}

/** The default engine: the first available one of {@link BROWSER_ENGINES} that is not a software GPU. */
export function defaultEngine(engines: readonly BrowserEngine[]): string | undefined {
  const rank = (e: BrowserEngine) => {
    const i = (BROWSER_ENGINES as readonly string[]).indexOf(e.engine);
    return i < 0 ? BROWSER_ENGINES.length : i;
  };
  const ordered = engines.filter((e) => e.available).sort((a, b) => rank(a) - rank(b));
  return (ordered.find((e) => !e.software) ?? ordered[0])?.engine;
}

/**
 * The default training engine: the first available of tfjs-wasm, ort-web-wasm, tfjs-cpu, then
 * any other that trains. A 2-D flow's networks are tiny (64-64 MLPs), so per-step overhead
 * decides, and WebAssembly has the least of it.
 */
export function defaultTrainer(engines: readonly BrowserEngine[]): string | undefined {
  const trains = engines.filter((e) => e.available && e.trains);
  const order = ['tfjs-wasm', 'ort-web-wasm', 'tfjs-cpu'];
  return order.find((n) => trains.some((e) => e.engine === n)) ?? trains.find((e) => !e.software)?.engine ?? trains[0]?.engine;
}
