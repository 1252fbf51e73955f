import { countFlops, countParams, createFlow, encodeSafetensors, referenceRuntime, traceFlow, type Flow, type Tensor } from '@bijective/core';
import { getPreset, listShippedCheckpoints, shippedCheckpoint } from '@bijective/models';
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

/**
 * The float64 reference output of a task on the check batch: logProb (nats) for `logProb`,
 * the sample x = f⁻¹(z) for `sample`, from exactly the inputs every engine gets.
 */
export async function referenceOutput(w: Workload, task: Task, batch: number, seed: number): Promise<{ input: Tensor; output: Float64Array }> {
  const input = makeInput(w.flow.spec.event, task, batch, w.domain, seed);
  const ref = referenceRuntime(w.flow);
  const out = task === 'logProb' ? await ref.logProb(input) : (await ref.decode(input)).data;
  return { input, output: Float64Array.from(out) };
}
