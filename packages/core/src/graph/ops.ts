import type { GraphBuilder, Value } from './graph.js';

/**
 * Compositions of primitives with numerically stable forms, shared by the layers.
 * They are not primitives: backends see only what these emit.
 */

/** softplus(x) = log(1 + eˣ) = max(x, 0) + log(1 + e^(−|x|)). */
export function softplus(g: GraphBuilder, x: Value): Value {
  return g.add(g.relu(x), g.log(g.add(g.scalar(1), g.exp(g.neg(g.abs(x))))));
}

/** log σ(x) = −softplus(−x). */
export function logSigmoid(g: GraphBuilder, x: Value): Value {
  return g.neg(softplus(g, g.neg(x)));
}

/** Sum over every axis but the batch axis: `[N, ...] -> [N]`. */
export function sumPerExample(g: GraphBuilder, x: Value): Value {
  const axes = x.shape.map((_, i) => i).slice(1);
  return axes.length === 0 ? x : g.sum(x, axes);
}

/** Flattens `[N, ...] -> [N, D]`. */
export function flatten(g: GraphBuilder, x: Value): Value {
  const d = x.shape.slice(1).reduce<number>((a, b) => a * (b as number), 1);
  return g.reshape(x, ['N', d]);
}

/** a + b where either may be absent (log-determinant accumulation). */
export function addMaybe(g: GraphBuilder, a: Value | null, b: Value | null): Value | null {
  if (a === null) return b;
  if (b === null) return a;
  return g.add(a, b);
}

export function square(g: GraphBuilder, x: Value): Value {
  return g.mul(x, x);
}

/** log N(z; 0, I) summed per example: −½‖z‖² − (D/2) log 2π. */
export function standardNormalLogProb(g: GraphBuilder, z: Value): Value {
  const d = z.shape.slice(1).reduce<number>((a, b) => a * (b as number), 1);
  const sq = sumPerExample(g, square(g, z));
  return g.sub(g.mul(sq, g.scalar(-0.5)), g.scalar(0.5 * d * Math.log(2 * Math.PI)));
}

/** Reshape a per-channel vector `[C]` to broadcast over `[N, C, H, W]` (or `[N, C]` for vectors). */
export function perChannel(g: GraphBuilder, v: Value, rank: number): Value {
  const c = v.shape[0] as number;
  return rank === 2 ? v : g.reshape(v, [c, 1, 1]);
}
