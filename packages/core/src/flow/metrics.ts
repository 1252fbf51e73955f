import type { Rng } from '../random.js';

/**
 * Likelihood metrics and uniform dequantisation for discrete data (8-bit images).
 *
 * The arithmetic. Data are integers `k ∈ {0, …, B−1}^D` (B = `bins`, 256 for 8-bit).
 * {@link dequantize} adds uniform noise and rescales: `x = (k + u) / B`, `u ~ U[0, 1)^D`, so
 * `x ∈ [0, 1)^D`. A flow is trained on `x` with density `p(x)`. The density of the unscaled
 * `v = k + u = B·x` is `p(v / B) · B^{−D}`, and by Jensen's inequality the discrete model
 * `P(k) = ∫_{[0,1)^D} p_v(k + u) du` satisfies
 *   `−log P(k) ≤ E_u[−log p_v(k + u)] = E_u[−log p(x)] + D log B`   (nats).
 * Bits per dimension divide that bound by `D log 2`:
 *   `bpd = (NLL + D log B) / (D log 2)`,
 * where NLL is the flow's −log p(x) in nats on the [0, 1) scale (averaged over examples).
 * E.g. a uniform model on [0, 1)^D has NLL = 0, so bpd = log₂ 256 = 8: eight bits per byte.
 */

/**
 * Uniform dequantisation: `(x + u) / bins` with `u ~ U[0, 1)` drawn from `rng` per value.
 * `values` are integers in `0..bins−1` (a Uint8Array or plain numbers); the result is in
 * [0, 1), as float64 (rounding `(255 + u) / 256` to float32 can give exactly 1).
 */
export function dequantize(values: ArrayLike<number>, rng: Rng, options: { bins?: number } = {}): Float64Array {
  const bins = options.bins ?? 256;
  if (!(Number.isInteger(bins) && bins >= 2)) throw new RangeError(`dequantize: bins must be an integer >= 2, got ${bins}`);
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v < bins)) {
      throw new RangeError(`dequantize: values[${i}] is ${v}; expected an integer in 0..${bins - 1}`);
    }
    out[i] = (v + rng.uniform()) / bins;
  }
  return out;
}

function checkDims(what: string, nllNats: number, dims: number): void {
  if (!Number.isFinite(nllNats)) throw new RangeError(`${what}: nllNats must be finite, got ${nllNats}`);
  if (!(Number.isInteger(dims) && dims >= 1)) throw new RangeError(`${what}: dims must be a positive integer, got ${dims}`);
}

/**
 * Bits per dimension of data scaled to [0, 1) by `1 / bins` (default 256):
 * `(nllNats + dims · log bins) / (dims · log 2)`. `nllNats` is −log p(x) per example in nats,
 * on the [0, 1) scale; `bins: 1` gives the plain `nllNats / (dims · log 2)` of unscaled data.
 */
export function bitsPerDim(nllNats: number, dims: number, options: { bins?: number } = {}): number {
  const bins = options.bins ?? 256;
  checkDims('bitsPerDim', nllNats, dims);
  if (!(Number.isFinite(bins) && bins >= 1)) throw new RangeError(`bitsPerDim: bins must be >= 1, got ${bins}`);
  return (nllNats + dims * Math.log(bins)) / (dims * Math.LN2);
}

/** Nats per dimension, `nllNats / dims`, of continuous (unscaled) data such as 2-D toy sets. */
export function natsPerDim(nllNats: number, dims: number): number {
  checkDims('natsPerDim', nllNats, dims);
  return nllNats / dims;
}
