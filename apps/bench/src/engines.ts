import type { Host } from './results.js';

/** The engines the bench knows, per host, in the order they run and are reported. */
export const NODE_ENGINES = ['tfjs-cpu', 'tfjs-wasm', 'tfjs-node', 'tfjs-node-gpu', 'ort-node-cpu', 'ort-node-cuda', 'ort-node-webgpu', 'ort-web-wasm'] as const;
export const BROWSER_ENGINES = ['ort-web-wasm', 'ort-web-webgpu', 'tfjs-wasm', 'tfjs-webgl', 'tfjs-webgpu'] as const;

export const HOST_ENGINES: Record<Host, readonly string[]> = { node: NODE_ENGINES, chromium: BROWSER_ENGINES };

/** Whether an engine can run in a host, as the backend's `listEngines()` says. */
export interface Availability {
  engine: string;
  available: boolean;
  /** Why not (absent when available). */
  reason?: string;
  /** What would make it available. */
  install?: string;
  /** What runs, when available (e.g. `SIMD, 2 threads`). */
  detail?: string;
}

export type EngineFamily = 'tfjs' | 'ort';

export function engineFamily(engine: string): EngineFamily {
  if (engine.startsWith('tfjs-')) return 'tfjs';
  if (engine.startsWith('ort-')) return 'ort';
  throw new Error(`unknown engine '${engine}': expected a tfjs-* or ort-* engine`);
}

/** The tfjs backends' `EngineStatus` and backend-onnx's `EngineStatus` (whose `reason` is a description when available), as one shape. */
export function fromTfjsStatus(s: { engine: string; available: boolean; reason?: string; install?: string; detail?: string }): Availability {
  return {
    engine: s.engine,
    available: s.available,
    ...(!s.available ? { reason: s.reason ?? 'not available (no reason given)' } : {}),
    ...(s.install ? { install: s.install } : {}),
    ...(s.available && s.detail ? { detail: s.detail } : {}),
  };
}

export function fromOrtStatus(s: { engine: string; available: boolean; reason: string }): Availability {
  return s.available ? { engine: s.engine, available: true, detail: s.reason } : { engine: s.engine, available: false, reason: s.reason };
}

/**
 * Availability of `wanted` engines from what the backends listed; an engine no backend lists
 * is reported as unavailable with that reason rather than silently dropped.
 */
export function resolveAvailability(wanted: readonly string[], listed: readonly Availability[], where: string): Availability[] {
  return wanted.map(
    (engine) => listed.find((a) => a.engine === engine) ?? { engine, available: false, reason: `no backend lists '${engine}' in ${where}` },
  );
}
