import type { Flow, FlowRuntime } from '@bijective/core';
import { engineFamily, fromOrtStatus, fromTfjsStatus, type Availability } from '../engines.js';

/**
 * The backends as Node sees them. Imported lazily: a worker for an ONNX engine never loads
 * tfjs and the other way round, so each engine's process holds only its own runtime.
 */

const tfjs = () => import('@bijective/backend-tfjs/node');
const onnx = () => import('@bijective/backend-onnx/node');

/** Every engine either backend lists for Node, with why each unavailable one is. */
export async function listNodeEngines(): Promise<Availability[]> {
  const out: Availability[] = [];
  try {
    for (const s of await (await tfjs()).listEngines()) out.push(fromTfjsStatus(s));
  } catch (e) {
    out.push({ engine: 'tfjs-*', available: false, reason: `@bijective/backend-tfjs failed to load: ${(e as Error).message}` });
  }
  try {
    for (const s of await (await onnx()).listEngines()) out.push(fromOrtStatus(s));
  } catch (e) {
    out.push({ engine: 'ort-*', available: false, reason: `@bijective/backend-onnx failed to load: ${(e as Error).message}` });
  }
  return out;
}

export async function createNodeRuntime(flow: Flow, engine: string): Promise<FlowRuntime> {
  if (engineFamily(engine) === 'tfjs') return (await tfjs()).tfjsRuntime(flow, { engine });
  const m = await onnx();
  if (!m.isOrtEngine(engine)) throw new Error(`unknown ONNX Runtime engine '${engine}'; known: ${m.ORT_ENGINES.join(', ')}`);
  return m.ortRuntime(flow, { engine });
}

/** A runtime over raw exported-model bytes (the GEMM probe) on an ONNX Runtime engine. */
export async function createOrtModelRuntime(sample: Uint8Array, engine: string): Promise<FlowRuntime> {
  const m = await onnx();
  if (!m.isOrtEngine(engine)) throw new Error(`unknown ONNX Runtime engine '${engine}'`);
  return m.ortRuntime({ sample }, { engine });
}
