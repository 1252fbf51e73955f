import { formatShape } from '../tensor.js';
import { GraphError, type GraphBuilder, type Value } from './graph.js';

/**
 * Root finding by bisection as one fixed-count `loop`: the inverse of any monotone
 * elementwise map (Gaussianization's mixture CDFs, other monotone layers) and quantiles of
 * a batch.
 *
 * Given a residual r(x) that is non-decreasing in x and a bracket lo ≤ x* ≤ hi with
 * r(lo) < 0 ≤ r(hi) elementwise, each iteration halves the bracket: with m = (lo + hi)/2,
 * (lo, hi) ← (m, hi) where r(m) < 0 and (lo, m) otherwise. After n iterations the returned
 * midpoint is within (hi₀ − lo₀)·2^−(n+1) of the root (of the left end of a flat stretch or
 * step, for a residual that is not strictly increasing), up to the precision of evaluating
 * r's sign. In float32 the bracket stops shrinking once lo and hi are adjacent floats, so
 * extra iterations cost time but never accuracy.
 *
 * The loop state carries (lo, hi) stacked on an extra axis (after the batch axis when the
 * values have one); `residual` is built once, into the loop body, from a builder, the
 * current midpoint and the invariants (values from the outer graph: targets, parameters).
 */
export interface BisectOptions {
  /** The bracket's ends, of one shape (the shape of the result). */
  lo: Value;
  hi: Value;
  /** Outer values the residual reads; it receives them, in order, as the body's inputs. */
  invariants: readonly Value[];
  /** Number of halvings, a positive integer. */
  iterations: number;
  /** r(x) for the midpoint `x` (the shape of `lo`), non-decreasing in x, of x's shape. */
  residual: (b: GraphBuilder, x: Value, invariants: Value[]) => Value;
}

/** Iterations after which a bracket of width `width` is below `tolerance` (the midpoint's error bound). */
export function bisectIterationsFor(width: number, tolerance: number): number {
  return Math.max(1, Math.ceil(Math.log2(width / tolerance) - 1));
}

export function bisect(g: GraphBuilder, opts: BisectOptions): Value {
  const { lo, hi, invariants, iterations, residual } = opts;
  if (formatShape(lo.shape) !== formatShape(hi.shape)) {
    throw new GraphError(`bisect: bracket ends lo ${formatShape(lo.shape)} and hi ${formatShape(hi.shape)} — expected one shape`);
  }
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new GraphError(`bisect: iterations ${iterations} — expected a positive integer`);
  }
  const shape = lo.shape;
  const axis = shape[0] === 'N' ? 1 : 0;
  const stackedShape = [...shape.slice(0, axis), 1, ...shape.slice(axis)];
  const state = g.concat([g.reshape(lo, stackedShape), g.reshape(hi, stackedShape)], axis);
  const out = g.loop(iterations, state, invariants, (b, s, inv) => {
    const l = b.slice(s, axis, 0, 1);
    const h = b.slice(s, axis, 1, 2);
    const mid = b.mul(b.add(l, h), b.scalar(0.5));
    const r = residual(b, b.reshape(mid, shape), inv);
    if (formatShape(r.shape) !== formatShape(shape)) {
      throw new GraphError(`bisect: the residual has shape ${formatShape(r.shape)} — expected the bracket's shape ${formatShape(shape)}`);
    }
    const goRight = b.reshape(b.less(r, b.scalar(0)), stackedShape);
    return b.concat([b.where(goRight, mid, l), b.where(goRight, h, mid)], axis);
  });
  const l = g.reshape(g.slice(out, axis, 0, 1), shape);
  const h = g.reshape(g.slice(out, axis, 1, 2), shape);
  return g.mul(g.add(l, h), g.scalar(0.5));
}
