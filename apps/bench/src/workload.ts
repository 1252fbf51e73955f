import {
  DENSITY_OUTPUTS,
  SAMPLE_OUTPUTS,
  baseLogDensity,
  countFlops,
  countParams,
  createFlow,
  encodeSafetensors,
  referenceRuntime,
  runReference,
  traceFlow,
  type Flow,
  type Tensor,
} from '@bijective/core';
import { getPreset, listShippedCheckpoints, shippedCheckpoint } from '@bijective/models/node';
import { checksum, makeInput, type InputDomain } from './inputs.js';
import type { PresetResult, Task } from './results.js';

/** A preset ready to bench: its flow (trained weights when shipped), what the report says about it, and the weights as bytes for pages. */
export interface Workload {
  flow: Flow;
  info: PresetResult;
  domain: InputDomain;
  /** The weights as safetensors (what browser pages fetch). */
  weightsFile(): Uint8Array;
}

/** Seed of the initial weights of presets with no shipped checkpoint. */
export const SEEDED_WEIGHTS_SEED = 0;

/** Image datasets come as dequantised pixels in [0, 1); the 2-D toy mixtures are roughly standard normal. */
export function domainOf(dataset: string): InputDomain {
  return dataset === 'mixture' ? 'normal' : 'unit';
}

export async function loadWorkload(name: string): Promise<Workload> {
  const preset = getPreset(name);
  let flow: Flow;
  let weights: PresetResult['weights'];
  if (listShippedCheckpoints().includes(name)) {
    const ckpt = await shippedCheckpoint(name);
    flow = ckpt.flow;
    weights = { source: 'checkpoint', path: ckpt.dir, meta: ckpt.meta };
  } else {
    flow = createFlow(preset.spec(), { seed: SEEDED_WEIGHTS_SEED });
    weights = { source: 'seeded', seed: SEEDED_WEIGHTS_SEED, why: 'no shipped trained checkpoint for this preset' };
  }
  let weightsChecksum = 0;
  for (const p of Object.values(flow.params)) weightsChecksum += checksum(p.data);
  const flops = (dir: 'density' | 'sample') => {
    const f = countFlops(traceFlow(flow, dir));
    return { macs: f.macs, other: f.other, flops: f.flops };
  };
  const info: PresetResult = {
    name,
    description: preset.description,
    family: preset.family,
    dataset: preset.dataset,
    event: [...flow.spec.event],
    dim: flow.dim,
    params: countParams(flow, false),
    weights,
    inputs: domainOf(preset.dataset),
    flops: { logProb: flops('density'), sample: flops('sample') },
    weightsChecksum,
  };
  let file: Uint8Array | undefined;
  return { flow, info, domain: info.inputs, weightsFile: () => (file ??= encodeSafetensors(flow.params)) };
}

/** The float64 interpreter's budget for one check (a few GFLOP/s at best: MAF sampling at D = 784 is ~19 GFLOP per example). */
export const CHECK_FLOP_BUDGET = 4e9;

/**
 * How one task of one preset is checked against the float64 reference, before any timing.
 * - `direct`: the engine's output on `input` must match `expected`, the reference's output.
 * - `inverse` (sample only): the reference's density pass on the engine's sample must give
 *   back the noise `input` (x is right iff f(x) = z, f being a bijection).
 * When the task's own graph is too heavy for the interpreter (MAF sampling, IAF density at
 * D = 784), the cheap direction answers: `inverse` for sampling; for density, `input` is
 * x = f⁻¹(z) from the reference's sampling pass and `expected` is log N(z) + log|det ∂z/∂x|
 * from the same pass.
 */
export interface CheckPlan {
  task: Task;
  batch: number;
  input: Tensor;
  mode: 'direct' | 'inverse';
  expected?: Float64Array;
  /** What is compared, in words (goes to the report). */
  compared: string;
  /** Reference time, ms. */
  referenceMs: number;
}

export async function planCheck(w: Workload, task: Task, maxBatch: number, seed: number, flopBudget = CHECK_FLOP_BUDGET): Promise<CheckPlan> {
  const event = w.flow.spec.event;
  const other: Task = task === 'logProb' ? 'sample' : 'logProb';
  const fits = (t: Task, b: number) => w.info.flops[t].flops * b <= flopBudget;
  const ref = referenceRuntime(w.flow);
  const t0 = performance.now();
  const took = () => performance.now() - t0;
  // Engines run the check too (cold, once per engine): heavy graphs get a smaller batch.
  const batch = Math.max(1, Math.min(maxBatch, Math.floor(flopBudget / w.info.flops[task].flops)));
  if (fits(task, batch) || !fits(other, batch)) {
    const input = makeInput(event, task, batch, w.domain, seed);
    const out = task === 'logProb' ? await ref.logProb(input) : (await ref.decode(input)).data;
    const compared = task === 'logProb' ? 'logProb (nats) per example' : 'sample x = f⁻¹(z) for the same noise z';
    return { task, batch, input, mode: 'direct', expected: Float64Array.from(out), compared, referenceMs: took() };
  }
  const z = makeInput(event, 'sample', batch, w.domain, seed);
  if (task === 'sample') {
    return { task, batch, input: z, mode: 'inverse', compared: "f(x) = z: the reference's density pass on the engine's sample gives back the noise", referenceMs: 0 };
  }
  const out = runReference(w.flow, traceFlow(w.flow, 'sample'), { z });
  const x = out[SAMPLE_OUTPUTS.x]!;
  const logDet = out[SAMPLE_OUTPUTS.logDet]!.data;
  const base = baseLogDensity(z.data, batch);
  return {
    task,
    batch,
    input: { data: Float32Array.from(x.data), shape: [...x.shape] },
    mode: 'direct',
    expected: base.map((b, i) => b + logDet[i]!),
    compared: "logProb at x = f⁻¹(z) (the reference's sample) against log N(z) + log|det ∂z/∂x| from the reference's sampling pass",
    referenceMs: took(),
  };
}

/** For an `inverse` check: the reference's latent z = f(x) of the engine's sample x. */
export function referenceLatent(w: Workload, x: ArrayLike<number>, batch: number): Float64Array {
  const out = runReference(w.flow, traceFlow(w.flow, 'density'), { x: { data: Float64Array.from(x), shape: [batch, ...w.flow.spec.event] } });
  return Float64Array.from(out[DENSITY_OUTPUTS.z]!.data);
}
