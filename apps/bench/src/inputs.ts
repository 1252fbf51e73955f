import { Rng, sampleNoise, sizeOf, type Tensor } from '@bijective/core';
import type { Task } from './results.js';

/** What `x` looks like for a preset: dequantised pixels on [0, 1), or standardised vectors. */
export type InputDomain = 'unit' | 'normal';

const TASK_SEED: Record<Task, number> = { logProb: 17, sample: 29, train: 41 };

/**
 * The seed of one input tensor: a function of the task, batch and a base seed only, so
 * every engine (in any host) builds bit-identical inputs without shipping them around.
 */
export function inputSeed(base: number, task: Task, batch: number): number {
  return (base * 1_000_003 + TASK_SEED[task] * 65_537 + batch) >>> 0;
}

/**
 * The input of one call: for `logProb` and `train`, data `x` `[batch, ...event]` (uniform on
 * [0, 1) for image-like presets — dequantised pixels, what the trainer feeds — so a `logit`
 * first layer is defined; standard normal otherwise; train's batch has its own seed); for
 * `sample`, the base noise `z` core's `sampleNoise` draws for `sample({ n: batch, seed })`,
 * which the engine's `decode` turns into `x`. Float32, as engines take it.
 */
export function makeInput(event: readonly number[], task: Task, batch: number, domain: InputDomain, seed: number): Tensor {
  const s = inputSeed(seed, task, batch);
  if (task === 'sample') {
    const z = sampleNoise({ n: batch, seed: s }, event);
    return { data: Float32Array.from(z.data), shape: z.shape };
  }
  const n = batch * sizeOf(event);
  const rng = new Rng(s);
  const data = new Float32Array(n);
  if (domain === 'unit') for (let i = 0; i < n; i++) data[i] = rng.uniform();
  else for (let i = 0; i < n; i++) data[i] = rng.normal();
  return { data, shape: [batch, ...event] };
}

/** A cheap fingerprint of a tensor (the sum of its values), recorded so identical inputs and weights can be verified. */
export function checksum(data: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i]!;
  return s;
}
