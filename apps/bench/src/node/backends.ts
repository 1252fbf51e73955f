import { openGradients, type FlowRuntime, type GradientEngine } from '@bijective/core';
import { listAllEngines, loadBackends, openRuntime } from '@bijective/models/node';
import type { Availability } from '../engines.js';

/**
 * The engines as Node sees them: core's engine registry, with each backend imported on first
 * use (models' `openRuntime`). A worker for an ONNX engine never loads tfjs and the other way
 * round, so each engine's process holds only its own runtime.
 */
export async function listNodeEngines(): Promise<Availability[]> {
  return (await listAllEngines()).filter((e) => e.engine !== 'reference');
}

/** A runtime for `flow` on `engine` from the registry (checked by core's guardRuntime). */
export const createNodeRuntime = openRuntime;

/** The gradients of `engine` from core's registry, its backend imported first: what `bijective train` opens. */
export async function openNodeGradients(engine: string): Promise<GradientEngine> {
  await loadBackends(engine);
  return openGradients(engine);
}

/** A runtime over raw exported-model bytes (the GEMM probe) on an ONNX Runtime engine. */
export async function createOrtModelRuntime(sample: Uint8Array, engine: string): Promise<FlowRuntime> {
  const m = await import('@bijective/backend-onnx/node');
  if (!m.isOrtEngine(engine)) throw new Error(`unknown ONNX Runtime engine '${engine}'`);
  return m.ortRuntime({ sample }, { engine });
}
