import type { GraphBuilder, Value } from '../graph/graph.js';
import { logSigmoid, sumPerExample } from '../graph/ops.js';
import { SpecError, num, onlyKeys, type Obj } from '../flow/fields.js';
import { sizeOf } from '../tensor.js';
import { defineLayer, type WithDefaults } from './layer.js';

/**
 * Logit preprocessing (RealNVP, Dinh, Sohl-Dickstein & Bengio 2016,
 * https://arxiv.org/abs/1605.08803, §4.1): maps data in [0, 1] (e.g. dequantised pixels, see
 * `dequantize`) to the real line, after squeezing it away from 0 and 1 by `α`:
 *
 *   forward  `s = α + (1 − 2α) x`, `y = logit(s) = log s − log(1 − s)`;
 *   inverse  `x = (σ(y) − α) / (1 − 2α)`;
 *   log|det ∂y/∂x| = Σ_i [log(1 − 2α) − log s_i − log(1 − s_i)].
 *
 * The forward pass computes `1 − s` as `(1 − α) − (1 − 2α) x` (no cancellation near x = 1);
 * the inverse's log-det uses `log s = log σ(y)` and `log(1 − s) = log σ(−y)` in their stable
 * forms. `alpha` ∈ [0, 0.5), default 0.05 (RealNVP's value); with `alpha: 0` the ends x = 0
 * and x = 1 map to ∓∞. With α > 0 the image of [0, 1]^D is the box
 * `[logit α, logit(1 − α)]^D`; the inverse maps `y` outside it to `x` outside [0, 1]
 * (towards `−α/(1 − 2α)` and `(1 − α)/(1 − 2α)`), so the mass a model puts there is on no data point.
 *
 * @example { "type": "logit", "alpha": 0.05 }
 */
export interface LogitSpec {
  type: 'logit';
  alpha: number;
}

/** A logit layer as written in a spec (`alpha` defaults to 0.05). */
export type LogitInput = WithDefaults<LogitSpec, 'alpha'>;

/** Σ −(log s + log(1 − s)) per example, plus D log(1 − 2α). */
function logDetOf(g: GraphBuilder, logS: Value, log1mS: Value, alpha: number, d: number): Value {
  const perExample = g.neg(sumPerExample(g, g.add(logS, log1mS)));
  return alpha === 0 ? perExample : g.add(perExample, g.scalar(d * Math.log(1 - 2 * alpha)));
}

export const logit = defineLayer<LogitSpec>({
  type: 'logit',
  parse(o: Obj, path) {
    onlyKeys(o, path, ['type', 'alpha']);
    const alpha = num(o, 'alpha', path, { min: 0, default: 0.05 });
    if (alpha >= 0.5) throw new SpecError(`${path}.alpha`, `expected 0 <= alpha < 0.5, got ${alpha}`);
    return { type: 'logit', alpha };
  },
  outShape: (_, s) => [...s],
  params: () => ({}),
  forward(ctx, { alpha }, x, inShape) {
    const g = ctx.g;
    const width = g.scalar(1 - 2 * alpha);
    const logS = g.log(g.add(g.scalar(alpha), g.mul(x, width)));
    const log1mS = g.log(g.sub(g.scalar(1 - alpha), g.mul(x, width)));
    return { out: g.sub(logS, log1mS), logDet: logDetOf(g, logS, log1mS, alpha, sizeOf(inShape)) };
  },
  inverse(ctx, { alpha }, y, inShape) {
    const g = ctx.g;
    const x = g.div(g.sub(g.sigmoid(y), g.scalar(alpha)), g.scalar(1 - 2 * alpha));
    return { out: x, logDet: logDetOf(g, logSigmoid(g, y), logSigmoid(g, g.neg(y)), alpha, sizeOf(inShape)) };
  },
});
