import {
  DENSITY_OUTPUTS,
  LOSS_OUTPUTS,
  SAMPLE_OUTPUTS,
  baseLogDensity,
  countFlops,
  countParams,
  createFlow,
  densityLossGraph,
  encodeSafetensors,
  gradients,
  referenceGradientEngine,
  referenceRuntime,
  runReference,
  traceFlow,
  trainableParams,
  type Flow,
  type Tensor,
} from '@bijective/core';
import { getPreset, listShippedCheckpoints, shippedCheckpoint } from '@bijective/models/node';
import { worstMismatch } from '@bijective/core/testing';
import { checksum, makeInput, type InputDomain } from './inputs.js';
import { gradientTolerance, type TrainReference } from './check.js';
import type { InferenceTask, PresetResult, Task } from './results.js';

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

/** `train`: also count the flops of the training step's gradient graph (only runs with the train task need it). */
export async function loadWorkload(name: string, options: { train?: boolean } = {}): Promise<Workload> {
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
    flops: { logProb: flops('density'), sample: flops('sample'), ...(options.train ? { train: trainFlops(flow) } : {}) },
    weightsChecksum,
  };
  let file: Uint8Array | undefined;
  return { flow, info, domain: info.inputs, weightsFile: () => (file ??= encodeSafetensors(flow.params)) };
}

/**
 * The training step's work per example: core's gradient graph of the trainer's loss
 * (`densityLossGraph`, differentiated with respect to every trainable parameter) — the forward
 * pass re-emitted plus the backward pass. What an engine with its own autodiff (tfjs) runs is
 * not this graph, but it computes the same derivatives.
 */
export function trainFlops(flow: Flow): { macs: number; other: number; flops: number } {
  const f = countFlops(gradients(densityLossGraph(flow), { of: LOSS_OUTPUTS.loss, wrt: trainableParams(flow) }));
  return { macs: f.macs, other: f.other, flops: f.flops };
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
  /** train: the reference loss and gradients (then `expected` is unset). */
  train?: TrainReference;
  /** Reference time, ms. */
  referenceMs: number;
}

export async function planCheck(w: Workload, task: Task, maxBatch: number, seed: number, flopBudget = CHECK_FLOP_BUDGET): Promise<CheckPlan> {
  if (task === 'train') return planTrainCheck(w, maxBatch, seed, flopBudget);
  const event = w.flow.spec.event;
  const other: InferenceTask = task === 'logProb' ? 'sample' : 'logProb';
  const fits = (t: InferenceTask, b: number) => w.info.flops[t].flops * b <= flopBudget;
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

/** Step of the kink probe: each input value moves by ±this (a few float32 roundings of a pixel). */
export const KINK_PROBE = 1e-6;
/** Check batches tried before the probe gives up and keeps the first. */
export const KINK_ATTEMPTS = 4;

/**
 * The train check's batch must not sit on a kink of the loss (a ReLU pre-activation within
 * float32 rounding of 0): there a float32 engine's gradient is the float64 gradient of a point a
 * rounding away, which can differ by far more than the tolerance (glow-fmnist-small's shipped
 * weights of 2026-12-08: one entry −2.7308 at the batch, −2.1574 1e-7 away, and ort-web-wasm
 * returned the latter). So the reference gradients at x + δu and x − δu (u a fixed ±1 pattern,
 * δ = {@link KINK_PROBE}) must agree within the check's own tolerance; when they do not, the
 * next seed's batch is tried.
 */
export function smoothAt(g1: Float64Array, g2: Float64Array): boolean {
  return worstMismatch(g2, g1, gradientTolerance(g1)) === undefined;
}

/**
 * The train check: core's reference GradientEngine (the float64 interpreter on core's gradient
 * graph) runs the trainer's loss graph on a check batch of data at the preset's weights; every
 * engine must give the same loss and gradients of every trainable parameter. The batch is
 * smaller for heavy graphs, as for the other tasks.
 */
async function planTrainCheck(w: Workload, maxBatch: number, seed: number, flopBudget: number): Promise<CheckPlan> {
  const flops = w.info.flops.train ?? trainFlops(w.flow);
  const batch = Math.max(1, Math.min(maxBatch, Math.floor(flopBudget / flops.flops)));
  const wrt = trainableParams(w.flow);
  const t0 = performance.now();
  const program = await referenceGradientEngine.compile(densityLossGraph(w.flow), { loss: LOSS_OUTPUTS.loss, wrt });
  try {
    const params = Object.fromEntries(Object.entries(w.flow.params).map(([n, p]) => [n, p.data]));
    const sizes = wrt.map((name) => ({ name, size: w.flow.params[name]!.data.length }));
    const flat = (grads: Record<string, ArrayLike<number>>) => {
      const all = new Float64Array(sizes.reduce((a, p) => a + p.size, 0));
      let at = 0;
      for (const p of sizes) {
        all.set(grads[p.name]!, at);
        at += p.size;
      }
      return all;
    };
    const shifted = (x: Tensor, sign: number): Tensor => {
      const data = Float64Array.from(x.data, (v, i) => v + sign * KINK_PROBE * (((i * 7919) % 2) * 2 - 1));
      // Dequantised pixels stay inside [0, 1) (a logit first layer is undefined outside).
      if (w.domain === 'unit') for (let i = 0; i < data.length; i++) data[i] = Math.min(1 - KINK_PROBE, Math.max(KINK_PROBE, data[i]!));
      return { data, shape: x.shape };
    };
    let first: { input: Tensor; loss: number; all: Float64Array } | undefined;
    for (let attempt = 0; attempt < KINK_ATTEMPTS; attempt++) {
      const input = makeInput(w.flow.spec.event, 'train', batch, w.domain, seed + attempt);
      const { loss, grads } = await program.run({ x: input }, params);
      const candidate = { input, loss, all: flat(grads) };
      first ??= candidate;
      const plus = flat((await program.run({ x: shifted(input, 1) }, params)).grads);
      const minus = flat((await program.run({ x: shifted(input, -1) }, params)).grads);
      if (smoothAt(plus, minus)) {
        const note = attempt === 0 ? '' : ` (the batch of seed ${seed + attempt}: ${attempt} earlier ${attempt === 1 ? 'batch sat' : 'batches sat'} on a kink of the loss)`;
        return plannedTrain(candidate, sizes, batch, note, t0);
      }
    }
    return plannedTrain(first!, sizes, batch, ` (every batch tried sat on a kink of the loss: a float32 engine may differ from the reference there)`, t0);
  } finally {
    await program.dispose();
  }
}

function plannedTrain(c: { input: Tensor; loss: number; all: Float64Array }, sizes: { name: string; size: number }[], batch: number, note: string, t0: number): CheckPlan {
  return {
    task: 'train',
    batch,
    input: c.input,
    mode: 'direct',
    train: { loss: c.loss, grads: c.all, params: sizes },
    compared: `the loss −mean log p(x) and d loss / dθ of all ${c.all.length} trainable parameter values, before the first Adam update${note}`,
    referenceMs: performance.now() - t0,
  };
}

/** For an `inverse` check: the reference's latent z = f(x) of the engine's sample x. */
export function referenceLatent(w: Workload, x: ArrayLike<number>, batch: number): Float64Array {
  const out = runReference(w.flow, traceFlow(w.flow, 'density'), { x: { data: Float64Array.from(x), shape: [batch, ...w.flow.spec.event] } });
  return Float64Array.from(out[DENSITY_OUTPUTS.z]!.data);
}
