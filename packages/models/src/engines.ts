import { engineStatus, listEngines, openRuntime as openEngineRuntime, type EngineStatus, type Flow, type FlowRuntime } from '@bijective/core';

/**
 * The CLI's engines are core's engine registry: `reference` (core's float64 interpreter, the
 * oracle), `tfjs-*` (`@bijective/backend-tfjs`) and `ort-*` (`@bijective/backend-onnx`, the flow
 * exported to ONNX in memory and run by ONNX Runtime). A backend registers its provider when it
 * is imported; it is imported on first use of one of its engines, so `info` or `sample` on the
 * reference never load tfjs.
 */
export const DEFAULT_ENGINE = 'tfjs-wasm';

/** The Node entry point of each backend, by engine-name prefix (importing one registers its provider). */
const BACKENDS: readonly { prefix: string; name: string; load: () => Promise<unknown> }[] = [
  { prefix: 'tfjs-', name: '@bijective/backend-tfjs', load: () => import('@bijective/backend-tfjs/node') },
  { prefix: 'ort-', name: '@bijective/backend-onnx', load: () => import('@bijective/backend-onnx/node') },
];

/** Backends that failed to load, with why (reported by {@link listAllEngines}). */
const failed = new Map<string, string>();

/** Imports the backend serving `engine` (every backend when `engine` is absent or has no known prefix). */
export async function loadBackends(engine?: string): Promise<void> {
  if (engine === 'reference') return;
  const wanted = BACKENDS.filter((b) => engine?.startsWith(b.prefix));
  for (const b of wanted.length ? wanted : BACKENDS) {
    try {
      await b.load();
    } catch (e) {
      failed.set(b.prefix, `${b.name} failed to load: ${(e as Error).message}`);
      if (wanted.length) throw e;
    }
  }
}

/** A runtime for `flow` on `engine`; an unknown engine, or one that cannot run here, is core's EngineUnavailableError saying why. */
export async function openRuntime(flow: Flow, engine: string = DEFAULT_ENGINE): Promise<FlowRuntime> {
  await loadBackends(engine);
  return openEngineRuntime(flow, engine);
}

/** The status of one engine (loading its backend first). */
export async function statusOf(engine: string): Promise<EngineStatus> {
  await loadBackends(engine);
  return engineStatus(engine);
}

/** Every engine with whether it runs here and, if not, why (for `bijective engines`); a backend that failed to load is a line too. */
export async function listAllEngines(): Promise<EngineStatus[]> {
  await loadBackends();
  const out = await listEngines();
  for (const [prefix, reason] of failed) out.push({ engine: `${prefix}*`, family: prefix.slice(0, -1), available: false, reason, trains: false });
  return out;
}
