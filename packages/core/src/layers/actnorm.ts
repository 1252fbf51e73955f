import type { Value } from '../graph/graph.js';
import { perChannel } from '../graph/ops.js';
import { onlyKeys, type Obj } from '../flow/fields.js';
import { defineLayer, type LayerContext } from './layer.js';

/**
 * Activation normalisation (Glow, Kingma & Dhariwal 2018, https://arxiv.org/abs/1807.03039):
 * a per-channel affine map (per feature for vectors),
 *   forward `y = (x + b) ⊙ exp(s)`, inverse `x = y ⊙ exp(−s) − b`,
 *   log|det J| = H·W·Σ_c s_c (the same for every example, so a scalar).
 *
 * Data-dependent initialisation: in the data-init pass (`traceFlow(..., { dataInit: true })`)
 * an ActNorm whose `initialized` flag is 0 sets `b = −mean(x)` and `s = −log(std(x) + 1e-6)`
 * over the batch (and pixels), so its output on that batch has zero mean and unit variance
 * per channel; it uses those values in the same pass, so the layers after it initialise on
 * normalised data. The pass also sets `initialized` to 1: a trained or loaded model never
 * re-initialises. See `initializeFromData`.
 *
 * @example { "type": "actNorm" }
 */
export interface ActNormSpec {
  type: 'actNorm';
}

/** Added to the standard deviation so a constant channel gives a finite log-scale. */
export const ACTNORM_EPS = 1e-6;

/** Axes reduced for the per-channel statistics: batch, and H, W for images. */
const statAxes = (rank: number) => (rank === 2 ? [0] : [0, 2, 3]);

/** `{bias, logScale}` as `[C]` values: the parameters, or, when initialising, from the batch `x`. */
function biasAndLogScale(ctx: LayerContext, x: Value | null): { bias: Value; logScale: Value } {
  const g = ctx.g;
  if (x === null || !ctx.dataInit || ctx.paramValue('initialized')[0] !== 0) {
    return { bias: ctx.param('bias'), logScale: ctx.param('logScale') };
  }
  const axes = statAxes(x.shape.length);
  const mean = g.mean(x, axes, true);
  const centred = g.sub(x, mean);
  const std = g.sqrt(g.mean(g.mul(centred, centred), axes));
  const bias = g.neg(g.reshape(mean, [x.shape[1] as number]));
  const logScale = g.neg(g.log(g.add(std, g.scalar(ACTNORM_EPS))));
  ctx.setInit('bias', bias);
  ctx.setInit('logScale', logScale);
  ctx.setInit('initialized', g.constant([1], [1]));
  return { bias, logScale };
}

/** H·W·Σ s: a scalar, shared by every example. */
function logDetOf(ctx: LayerContext, logScale: Value, inShape: readonly number[]): Value {
  const g = ctx.g;
  const pixels = inShape.length === 3 ? inShape[1]! * inShape[2]! : 1;
  const total = g.sum(logScale, [0]);
  return pixels === 1 ? total : g.mul(total, g.scalar(pixels));
}

export const actNorm = defineLayer<ActNormSpec>({
  type: 'actNorm',
  parse(o: Obj, path) {
    onlyKeys(o, path, ['type']);
    return { type: 'actNorm' };
  },
  outShape: (_, s) => [...s],
  params(_, inShape) {
    const c = inShape[0]!;
    return {
      bias: { shape: [c], init: () => new Float64Array(c) },
      logScale: { shape: [c], init: () => new Float64Array(c) },
      initialized: { shape: [1], init: () => new Float64Array(1), trainable: false },
    };
  },
  forward(ctx, _, x, inShape) {
    const g = ctx.g;
    const { bias, logScale } = biasAndLogScale(ctx, x);
    const rank = inShape.length + 1;
    const out = g.mul(g.add(x, perChannel(g, bias, rank)), g.exp(perChannel(g, logScale, rank)));
    return { out, logDet: logDetOf(ctx, logScale, inShape) };
  },
  inverse(ctx, _, y, inShape) {
    const g = ctx.g;
    const { bias, logScale } = biasAndLogScale(ctx, null);
    const rank = inShape.length + 1;
    const out = g.sub(g.mul(y, g.exp(g.neg(perChannel(g, logScale, rank)))), perChannel(g, bias, rank));
    return { out, logDet: logDetOf(ctx, logScale, inShape) };
  },
});
