import { baseNoise } from '../random.js';
import { formatShape, sizeOf, type Tensor } from '../tensor.js';
import type { SampleOptions } from './types.js';

/** Bad input at the runtime edge: names the tensor, what was expected and what came. */
export class InputError extends TypeError {
  override name = 'InputError';
}

/**
 * Checks a runtime input once, at the edge: a Float32Array/Float64Array of shape
 * `[N, ...event]` with N ≥ 1, all values finite. Returns the batch size.
 */
export function checkInput(what: string, t: Tensor, event: readonly number[]): number {
  const expected = `[N, ${event.join(', ')}]`;
  if (typeof t !== 'object' || t === null || !Array.isArray(t.shape)) {
    throw new InputError(`${what}: expected a tensor { data, shape } of shape ${expected}`);
  }
  if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
    const kind = (t.data as object | undefined)?.constructor?.name ?? typeof t.data;
    throw new InputError(`${what}: data must be a Float32Array or Float64Array, got ${kind}`);
  }
  const n = t.shape[0];
  const ok = t.shape.length === event.length + 1 && event.every((d, i) => t.shape[i + 1] === d) && Number.isInteger(n) && n! >= 1;
  if (!ok) throw new InputError(`${what}: shape ${formatShape(t.shape)}, expected ${expected} with N >= 1`);
  if (t.data.length !== sizeOf(t.shape)) {
    throw new InputError(`${what}: ${t.data.length} values do not fill shape ${formatShape(t.shape)} (${sizeOf(t.shape)} values)`);
  }
  for (let i = 0; i < t.data.length; i++) {
    if (!Number.isFinite(t.data[i])) {
      const at = [...t.shape].reverse().reduce<{ idx: number[]; rem: number }>((acc, d) => ({ idx: [acc.rem % d, ...acc.idx], rem: Math.floor(acc.rem / d) }), { idx: [], rem: i }).idx;
      throw new InputError(`${what}: value at [${at.join(', ')}] is ${t.data[i]}; every value must be finite`);
    }
  }
  return n!;
}

/** Checks sample options and draws the base noise `[n, ...event]` (already scaled by temperature). */
export function sampleNoise(options: SampleOptions, event: readonly number[]): Tensor {
  const { n, temperature = 1, seed = 0 } = options;
  if (!Number.isInteger(n) || n < 1) throw new InputError(`sample: n must be a positive integer, got ${n}`);
  if (!(Number.isFinite(temperature) && temperature >= 0)) throw new InputError(`sample: temperature must be finite and >= 0, got ${temperature}`);
  if (!Number.isFinite(seed)) throw new InputError(`sample: seed must be a finite number, got ${seed}`);
  return { data: baseNoise(n, sizeOf(event), seed, temperature), shape: [n, ...event] };
}
