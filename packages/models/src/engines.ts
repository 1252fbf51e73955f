import { guardRuntime, referenceRuntime, type Flow, type FlowRuntime } from '@bijective/core';

/**
 * One name space over every engine the CLI can run a flow on:
 * - `reference`: core's float64 interpreter (the oracle; slow, no training);
 * - `tfjs-*` (`tfjs-wasm`, `tfjs-cpu`, `tfjs-node`, ...): `@bijective/backend-tfjs`;
 * - `ort-*` (`ort-node-cpu`, `ort-web-wasm`, ...): `@bijective/backend-onnx` (the flow is
 *   exported to ONNX in memory, then run by ONNX Runtime).
 * Backends are imported on first use, so `info` or `sample` on the reference never load tfjs.
 */
export const DEFAULT_ENGINE = 'tfjs-wasm';

export class EngineNotAvailableError extends Error {
  override name = 'EngineNotAvailableError';
}

export type EngineFamily = 'reference' | 'tfjs' | 'ort';

export function engineFamily(engine: string): EngineFamily {
  if (engine === 'reference') return 'reference';
  if (engine.startsWith('tfjs-')) return 'tfjs';
  if (engine.startsWith('ort-')) return 'ort';
  throw new EngineNotAvailableError(`unknown engine '${engine}': expected 'reference', a tfjs engine (tfjs-wasm, tfjs-cpu, tfjs-node, ...) or an ONNX Runtime engine (ort-node-cpu, ort-web-wasm, ...)`);
}

/**
 * A runtime for `flow` on `engine`; an engine that cannot run here is an error saying why.
 * Every runtime carries core's edge checks (`guardRuntime`: inputs, context, `sample` options,
 * use after `dispose`); one a backend already guarded is not wrapped twice.
 */
export async function openRuntime(flow: Flow, engine: string = DEFAULT_ENGINE): Promise<FlowRuntime> {
  return guardRuntime(await openUnguarded(flow, engine), flow.spec);
}

async function openUnguarded(flow: Flow, engine: string): Promise<FlowRuntime> {
  const family = engineFamily(engine);
  if (family === 'reference') return referenceRuntime(flow);
  if (family === 'tfjs') {
    // The Node entry point registers the wasm engine with its .wasm files, and tfjs-node when installed.
    const { tfjsRuntime } = await import('@bijective/backend-tfjs/node');
    return tfjsRuntime(flow, { engine });
  }
  const onnx = await import('@bijective/backend-onnx/node');
  if (!onnx.isOrtEngine(engine)) throw new EngineNotAvailableError(`unknown ONNX Runtime engine '${engine}'; known: ${onnx.ORT_ENGINES.join(', ')}`);
  // Probe only this engine (listing them all would start every execution provider, whose
  // native libraries print warnings of their own).
  const status = await onnx.engineStatus(engine);
  if (!status.available) throw new EngineNotAvailableError(`engine '${engine}' is not available: ${status.reason ?? 'unknown reason'} (\`bijective engines\` lists what runs here)`);
  return onnx.ortRuntime(flow, { engine });
}

/** Every engine with whether it runs here and, if not, why (for `bijective engines`). */
export async function listAllEngines(): Promise<{ engine: string; available: boolean; reason?: string }[]> {
  const out: { engine: string; available: boolean; reason?: string }[] = [{ engine: 'reference', available: true, reason: 'float64 interpreter (slow; the oracle)' }];
  try {
    const tfjs = await import('@bijective/backend-tfjs/node');
    for (const e of await tfjs.listEngines()) out.push({ engine: e.engine, available: e.available, ...(e.reason ?? e.detail ? { reason: e.reason ?? e.detail } : {}) });
  } catch (e) {
    out.push({ engine: 'tfjs-*', available: false, reason: `@bijective/backend-tfjs failed to load: ${(e as Error).message}` });
  }
  try {
    const onnx = await import('@bijective/backend-onnx/node');
    for (const e of await onnx.listEngines()) out.push({ engine: e.engine, available: e.available, ...(e.reason ? { reason: e.reason } : {}) });
  } catch (e) {
    out.push({ engine: 'ort-*', available: false, reason: `@bijective/backend-onnx failed to load: ${(e as Error).message}` });
  }
  return out;
}
