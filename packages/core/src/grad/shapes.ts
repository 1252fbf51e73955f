import { broadcastShapes, GraphError, type GraphBuilder, type Value } from '../graph/graph.js';
import { formatShape, type Shape } from '../tensor.js';

/**
 * Shape plumbing for the gradient rules. The batch dimension `'N'` is symbolic, so no
 * constant can have it: a value of a batched shape is made by broadcasting a constant
 * against a value that already carries `'N'`.
 */

export const sameShape = (a: Shape, b: Shape): boolean => formatShape(a) === formatShape(b);

const staticOf = (shape: Shape): number[] => shape.map((d) => (d === 'N' ? 1 : d));
const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** `[N, 1, ..., 1]` zeros taken from `like` (which has `'N'` first): one entry per example, times 0. */
function batchZeros(g: GraphBuilder, like: Value): Value {
  let v = like;
  for (let a = 1; a < v.shape.length; a++) if (v.shape[a] !== 1) v = g.slice(v, a, 0, 1);
  return g.mul(v, g.scalar(0));
}

/** Zeros of `shape`; where it has `'N'`, `like` (a value with `'N'` first) supplies the batch size. */
export function zeros(g: GraphBuilder, shape: Shape, like: Value): Value {
  const c = g.constant(new Array<number>(count(staticOf(shape))).fill(0), staticOf(shape));
  if (!shape.includes('N')) return c;
  if (like.shape[0] !== 'N') throw new GraphError(`gradients: zeros of ${formatShape(shape)} need a batched value, got ${formatShape(like.shape)}`);
  const z = batchZeros(g, like);
  const zr = z.shape.length === shape.length ? z : g.reshape(z, ['N', ...new Array<number>(shape.length - 1).fill(1)]);
  return g.add(zr, c);
}

/** Ones of `[N, 1, ..., 1]` (rank of `like`), so `sum(ones, [0])` is the batch size. */
export function batchOnes(g: GraphBuilder, like: Value): Value {
  return g.add(batchZeros(g, like), g.scalar(1));
}

/** `v` broadcast to `shape` (NumPy rules); `like` supplies `'N'` when `v` lacks it. */
export function broadcastTo(g: GraphBuilder, v: Value, shape: Shape, like: Value): Value {
  if (sameShape(v.shape, shape)) return v;
  const viaConst = broadcastShapes(v.shape, staticOf(shape));
  if (viaConst && sameShape(viaConst, shape)) return g.add(v, g.constant(new Array<number>(count(staticOf(shape))).fill(0), staticOf(shape)));
  return g.add(v, zeros(g, shape, like));
}

/** The cotangent `ct` of a broadcast result summed back to an operand of shape `shape`. */
export function unbroadcast(g: GraphBuilder, ct: Value, shape: Shape): Value {
  if (sameShape(ct.shape, shape)) return ct;
  let v = ct;
  const lead = v.shape.length - shape.length;
  if (lead > 0) v = g.sum(v, Array.from({ length: lead }, (_, i) => i));
  const axes = shape.flatMap((d, i) => (d === 1 && v.shape[i] !== 1 ? [i] : []));
  if (axes.length > 0) v = g.sum(v, axes, true);
  if (!sameShape(v.shape, shape)) throw new GraphError(`gradients: cannot sum a cotangent of ${formatShape(ct.shape)} back to ${formatShape(shape)}`);
  return v;
}

/** `x` with the order of entries along `axis` reversed. */
export function reverse(g: GraphBuilder, x: Value, axis: number): Value {
  const d = x.shape[axis] as number;
  return d === 1 ? x : g.gather(x, axis, Array.from({ length: d }, (_, i) => d - 1 - i));
}

/** Swaps the last two axes (matrix transpose of a batch of matrices). */
export function transposeLast(g: GraphBuilder, x: Value): Value {
  const r = x.shape.length;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return g.transpose(x, perm);
}

/** The inverse of a permutation. */
export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}
