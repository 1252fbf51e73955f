import type { Value } from '../graph/graph.js';
import { sumPerExample } from '../graph/ops.js';
import { num, oneOf, onlyKeys, type Obj } from '../flow/fields.js';
import { applyConditioner, conditionerParams, parseConditioner, type ConditionerInput, type ConditionerSpec } from './conditioner.js';
import { defineLayer, type LayerContext, type Step, type WithDefaults } from './layer.js';
import { checkMask, partition, type MaskKind, type Partition } from './masks.js';
import { prefixed } from './nice.js';
import { SPLINE_KEYS, parseSpline, rqSpline, splineParamCount, type SplineDefaulted, type SplineSpec } from './spline.js';

/**
 * Rational-quadratic spline coupling (Durkan, Bekasov, Murray & Papamakarios 2019,
 * https://arxiv.org/abs/1906.04032, §3.2 "coupling transform"): with the input split into a
 * conditioning part `a` and a transformed part `b` (see {@link partition}), `y_a = x_a` and
 * every element of `b` goes through its own monotone {@link rqSpline} whose `3K − 1` raw
 * parameters the conditioner (MLP for vectors, CNN for images) computes from `a`:
 * `y_b,i = RQS(x_b,i; θ_i(x_a))`. The inverse applies the spline inverses with the same θ
 * (a is unchanged), and `log|det J| = Σ_i log RQS'(x_b,i)` over the transformed elements
 * (with the checkerboard mask, over the masked positions only). Outside `[−B, B]` each element
 * passes unchanged. A fresh layer (zero-initialised conditioner head) is the identity.
 *
 * The conditioner's output is read as `[N, D_b, 3K − 1]` for vectors and as
 * `[N, C_b, 3K − 1, H, W]` (channel `c·(3K − 1) + j` holds parameter j of channel c) for images.
 *
 * @example { "type": "splineCoupling", "mask": "half", "parity": 0, "conditioner": { "type": "mlp", "hidden": [64, 64] }, "bins": 8, "bound": 4 }
 */
export interface SplineCouplingSpec extends SplineSpec {
  type: 'splineCoupling';
  mask: MaskKind;
  parity: 0 | 1;
  conditioner: ConditionerSpec;
}

/** A spline coupling as written in a spec: the conditioner and every field but `type` have defaults. */
export interface SplineCouplingInput extends WithDefaults<Omit<SplineCouplingSpec, 'conditioner'>, 'mask' | 'parity' | SplineDefaulted> {
  conditioner?: ConditionerInput;
}

function conditionerOut(spec: SplineSpec, p: Partition): number[] {
  const [c, ...rest] = p.transShape;
  return [c! * splineParamCount(spec), ...rest];
}

/** The raw spline parameters `[N, ...transShape, 3K − 1]`. */
function rawParams(ctx: LayerContext, spec: SplineCouplingSpec, p: Partition, a: Value): Value {
  const g = ctx.g;
  const h = applyConditioner(ctx.child('conditioner'), spec.conditioner, a, conditionerOut(spec, p));
  const n = splineParamCount(spec);
  const [c, ...rest] = p.transShape as [number, ...number[]];
  if (rest.length === 0) return g.reshape(h, ['N', c, n]);
  const [hh, ww] = rest as [number, number];
  return g.transpose(g.reshape(h, ['N', c, n, hh, ww]), [0, 1, 3, 4, 2]);
}

function step(ctx: LayerContext, spec: SplineCouplingSpec, v: Value, inShape: readonly number[], direction: 'forward' | 'inverse'): Step {
  const g = ctx.g;
  const p = partition(spec.mask, spec.parity, inShape);
  const { a, b } = p.split(g, v);
  const { out, logDet } = rqSpline(g, spec, rawParams(ctx, spec, p, a), b, direction);
  const w = p.weight(g);
  return { out: p.merge(g, a, out), logDet: sumPerExample(g, w === null ? logDet : g.mul(logDet, w)) };
}

export const splineCoupling = defineLayer<SplineCouplingSpec>({
  type: 'splineCoupling',
  parse(o: Obj, path, inShape) {
    onlyKeys(o, path, ['type', 'mask', 'parity', 'conditioner', ...SPLINE_KEYS]);
    const mask = oneOf(o, 'mask', path, ['half', 'alternating', 'channel', 'checkerboard'] as const, inShape.length === 3 ? 'checkerboard' : 'half');
    checkMask(mask, inShape, path);
    const parity = num(o, 'parity', path, { int: true, min: 0, max: 1, default: 0 }) as 0 | 1;
    return { type: 'splineCoupling', mask, parity, conditioner: parseConditioner(o.conditioner, `${path}.conditioner`, inShape), ...parseSpline(o, path) };
  },
  outShape: (_, s) => [...s],
  params(spec, inShape, env) {
    const p = partition(spec.mask, spec.parity, inShape);
    return prefixed('conditioner', conditionerParams(spec.conditioner, p.condShape, conditionerOut(spec, p), env?.context));
  },
  forward: (ctx, spec, x, inShape) => step(ctx, spec, x, inShape, 'forward'),
  inverse: (ctx, spec, y, inShape) => step(ctx, spec, y, inShape, 'inverse'),
});
