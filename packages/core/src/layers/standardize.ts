import type { GraphBuilder, Value } from '../graph/graph.js';
import { onlyKeys, type Obj } from '../flow/fields.js';
import { sizeOf } from '../tensor.js';
import type { Flow } from '../flow/flow.js';
import { defineLayer } from './layer.js';

/**
 * Standardisation: a fixed per-dimension affine map fitted on the training data, so a flow
 * takes raw data and the layers after it see zero-mean, unit-variance values
 * (the preprocessing of tabular flows, e.g. MAF, Papamakarios et al. 2017, §4.2;
 * https://arxiv.org/abs/1705.07057).
 *
 *   forward  `z = (x − shift) ⊙ exp(−logScale)`
 *   inverse  `x = z ⊙ exp(logScale) + shift`
 *   log|det ∂z/∂x| = −Σ_i logScale_i (the same for every example, so a scalar)
 *
 * `shift` (the training mean) and `logScale` (log of the training standard deviation) have the
 * event's shape, are not trained (`trainable: false`) and are saved with the other parameters,
 * so they travel in the checkpoint and are embedded in the exported ONNX graphs: `log_prob.onnx`
 * reads raw data, `sample.onnx` returns raw samples. They start as the identity (0, 0); fit
 * them with {@link fitStandardize}.
 *
 * @example { "type": "standardize" }
 */
export interface StandardizeSpec {
  type: 'standardize';
}

export const standardize = defineLayer<StandardizeSpec>({
  type: 'standardize',
  parse(o: Obj, path) {
    onlyKeys(o, path, ['type']);
    return { type: 'standardize' };
  },
  outShape: (_, s) => [...s],
  params(_, inShape) {
    const n = sizeOf(inShape);
    return {
      shift: { shape: [...inShape], init: () => new Float64Array(n), trainable: false },
      logScale: { shape: [...inShape], init: () => new Float64Array(n), trainable: false },
    };
  },
  forward(ctx, _, x) {
    const g = ctx.g;
    const logScale = ctx.param('logScale');
    const out = g.mul(g.sub(x, ctx.param('shift')), g.exp(g.neg(logScale)));
    return { out, logDet: logDetOf(ctx.g, logScale) };
  },
  inverse(ctx, _, y) {
    const g = ctx.g;
    const logScale = ctx.param('logScale');
    const out = g.add(g.mul(y, g.exp(logScale)), ctx.param('shift'));
    return { out, logDet: logDetOf(ctx.g, logScale) };
  },
});

function logDetOf(g: GraphBuilder, logScale: Value): Value {
  const axes = logScale.shape.map((_, i) => i);
  return g.neg(g.sum(logScale, axes));
}

/** Per-dimension mean and log standard deviation of `n` rows of `dim` values. */
export interface StandardizeStats {
  shift: Float64Array;
  logScale: Float64Array;
}

/** A dimension with zero variance on the data a standardisation is fitted on. */
export class ConstantDimensionError extends RangeError {
  override name = 'ConstantDimensionError';
  constructor(
    readonly dimension: number,
    readonly value: number,
  ) {
    super(`dimension ${dimension} is constant (${value}) on the data the standardisation is fitted on; a flow cannot model a constant, so drop it`);
  }
}

/**
 * The mean and log standard deviation (population, 1/n) of each of the `dim` columns of the
 * row-major `data` (two passes, float64). A constant column is a {@link ConstantDimensionError}.
 */
export function standardizeStats(data: ArrayLike<number>, dim: number): StandardizeStats {
  const n = data.length / dim;
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`standardizeStats: ${data.length} values are not whole rows of ${dim}`);
  const shift = new Float64Array(dim);
  const logScale = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) shift[j]! += data[i * dim + j]!;
  for (let j = 0; j < dim; j++) shift[j]! /= n;
  const m2 = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const d = data[i * dim + j]! - shift[j]!;
      m2[j]! += d * d;
    }
  }
  for (let j = 0; j < dim; j++) {
    const std = Math.sqrt(m2[j]! / n);
    // Below float32 resolution relative to the mean, the column is constant for the flow.
    if (!(std > 1e-7 * Math.max(1, Math.abs(shift[j]!)))) throw new ConstantDimensionError(j, shift[j]!);
    logScale[j] = Math.log(std);
  }
  return { shift, logScale };
}

/**
 * Fits the flow's first layer, which must be a `standardize` layer, on the training rows
 * `data` (`[n, ...event]` row-major): sets its `shift` and `logScale` in `flow.params`.
 */
export function fitStandardize(flow: Flow, data: ArrayLike<number>): StandardizeStats {
  const first = flow.layers[0];
  if (!first || first.spec.type !== 'standardize') throw new Error(`fitStandardize: the flow's first layer is ${first ? `'${first.spec.type}'` : 'missing'}, expected 'standardize'`);
  const stats = standardizeStats(data, flow.dim);
  flow.params[`${first.prefix}.shift`]!.data.set(stats.shift);
  flow.params[`${first.prefix}.logScale`]!.data.set(stats.logScale);
  return stats;
}
