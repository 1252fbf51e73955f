import { baseNoise } from '../random.js';
import { formatShape, sizeOf, type Tensor } from '../tensor.js';
import type { SampleOptions } from './types.js';

/** Bad input at the runtime edge: names the tensor, what was expected and what came. */
export class InputError extends TypeError {
  override name = 'InputError';
}

/** The largest finite float32, 3.4028234663852886e38: every engine but the reference computes in float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Checks a runtime input once, at the edge: a Float32Array/Float64Array of shape
 * `[N, ...event]` with N ≥ 1, all values finite and within float32's range (a value beyond it
 * would be ±Infinity on a float32 engine, and the engines would disagree). Returns the batch size.
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
      const at = indexOf(t.shape, i);
      throw new InputError(`${what}: value at [${at.join(', ')}] is ${t.data[i]}; every value must be finite`);
    }
    if (Math.abs(t.data[i]!) > FLOAT32_MAX) {
      throw new InputError(`${what}: value at [${indexOf(t.shape, i).join(', ')}] is ${t.data[i]}, beyond float32's range (|x| <= ${FLOAT32_MAX}), in which the engines compute`);
    }
  }
  return n!;
}

/** The multi-index of flat position `i` in `shape`. */
function indexOf(shape: readonly number[], i: number): number[] {
  return [...shape].reverse().reduce<{ idx: number[]; rem: number }>((acc, d) => ({ idx: [acc.rem % d, ...acc.idx], rem: Math.floor(acc.rem / d) }), { idx: [], rem: i }).idx;
}

/**
 * Checks sample options and draws the base noise `[n, ...event]` (already scaled by temperature).
 * The scaled noise must lie in float32's range, so a huge temperature is refused rather than
 * turned into ±Infinity on some engines and NaN on others.
 */
export function sampleNoise(options: SampleOptions, event: readonly number[]): Tensor {
  if (typeof options !== 'object' || options === null) throw new InputError(`sample: expected options { n, temperature?, seed? }, got ${options === null ? 'null' : typeof options}`);
  const { n, temperature = 1, seed = 0 } = options;
  if (!Number.isInteger(n) || n < 1) throw new InputError(`sample: n must be a positive integer, got ${n}`);
  if (!(Number.isFinite(temperature) && temperature >= 0)) throw new InputError(`sample: temperature must be finite and >= 0, got ${temperature}`);
  if (!Number.isFinite(seed)) throw new InputError(`sample: seed must be a finite number, got ${seed}`);
  const data = baseNoise(n, sizeOf(event), seed, temperature);
  for (const v of data) {
    if (Math.abs(v) > FLOAT32_MAX) throw new InputError(`sample: temperature ${temperature} scales the base noise beyond float32's range (|z| <= ${FLOAT32_MAX}); use a temperature well below ${(FLOAT32_MAX / 10).toExponential(1)}`);
  }
  return { data, shape: [n, ...event] };
}
