import type { GraphBuilder, Value } from '../graph/graph.js';
import { logSigmoid, perChannel, sumPerExample } from '../graph/ops.js';
import { SpecError, num, oneOf, onlyKeys, type Obj } from '../flow/fields.js';
import { applyConditioner, conditionerParams, parseConditioner, type ConditionerInput, type ConditionerSpec } from './conditioner.js';
import { defineLayer, type LayerContext, type ParamDecl, type Step, type WithDefaults } from './layer.js';
import { checkMask, partition, type MaskKind, type Partition } from './masks.js';
import { prefixed } from './nice.js';

/**
 * Affine coupling: RealNVP (Dinh, Sohl-Dickstein & Bengio 2016, https://arxiv.org/abs/1605.08803)
 * and Glow (Kingma & Dhariwal 2018, https://arxiv.org/abs/1807.03039).
 *
 * With the input split into a conditioning part `a` and a transformed part `b` (see
 * {@link partition}), the conditioner maps `a` to `h = [t, ĥ]` (twice the channels or
 * features of `b`: shift first, then raw scale), and `y_a = x_a`.
 *
 * - `tanhExp` (RealNVP): `s = σ_f ⊙ tanh(ĥ)` with a learned per-channel/per-feature factor
 *   `σ_f` (`scaleFactor`, initialised to 1);
 *   forward `y_b = x_b ⊙ exp(s) + t`, inverse `x_b = (y_b − t) ⊙ exp(−s)`, log|det J| = Σ s.
 * - `sigmoid` (Glow): `σ = sigmoid(ĥ + 2)` (near 0.88 at init, never 0, so the inverse is safe);
 *   forward `y_b = (x_b + t) ⊙ σ`, inverse `x_b = y_b / σ − t`, log|det J| = Σ log σ(ĥ + 2).
 *   With `scaleFloor` f in (0, 1): `σ = f + (1 − f)·sigmoid(ĥ + 2)`, so the inverse divides by
 *   at least f and stays bounded however far a trained conditioner pushes ĥ (without it, σ near 0
 *   makes `y_b / σ` overflow when sampling from base noise); the map is still exact, with
 *   log|det J| = Σ log σ. Absent (older specs) means f = 0, the plain Glow scale.
 *
 * With the checkerboard mask `b` is the whole input but only the masked positions change, so
 * the log-det sums over those positions only.
 *
 * @example { "type": "affineCoupling", "mask": "checkerboard", "parity": 0, "conditioner": { "type": "cnn", "hidden": 64 }, "scale": "sigmoid" }
 */
export interface AffineCouplingSpec {
  type: 'affineCoupling';
  mask: MaskKind;
  parity: 0 | 1;
  conditioner: ConditionerSpec;
  scale: AffineScale;
  /** Lower bound of the sigmoid scale (`scale: 'sigmoid'` only), in (0, 1); absent means 0. */
  scaleFloor?: number;
}

export type AffineScale = 'tanhExp' | 'sigmoid';

/** An affine coupling as written in a spec: the conditioner and every field but `type` have defaults. */
export interface AffineCouplingInput extends WithDefaults<Omit<AffineCouplingSpec, 'conditioner'>, 'mask' | 'parity' | 'scale'> {
  conditioner?: ConditionerInput;
}

/** The conditioner's output shape: `[2·C_b, ...]`, shift channels first. */
function conditionerOut(p: Partition): number[] {
  const [c, ...rest] = p.transShape;
  return [2 * c!, ...rest];
}

/** Shift `t` and the log of the scale applied to `x_b` (`s`, or `log σ(ĥ + 2)`), from the conditioner's output. */
function shiftAndLogScale(ctx: LayerContext, spec: AffineCouplingSpec, p: Partition, a: Value): { t: Value; logScale: Value } {
  const g = ctx.g;
  const h = applyConditioner(ctx.child('conditioner'), spec.conditioner, a, conditionerOut(p));
  const c = p.transShape[0]!;
  const t = g.slice(h, 1, 0, c);
  const raw = g.slice(h, 1, c, 2 * c);
  if (spec.scale === 'sigmoid') {
    const f = spec.scaleFloor;
    if (f === undefined) return { t, logScale: logSigmoid(g, g.add(raw, g.scalar(2))) };
    const sigma = g.add(g.scalar(f), g.mul(g.scalar(1 - f), g.sigmoid(g.add(raw, g.scalar(2)))));
    return { t, logScale: g.log(sigma) };
  }
  const factor = perChannel(g, ctx.param('scaleFactor'), p.transShape.length + 1);
  return { t, logScale: g.mul(factor, g.tanh(raw)) };
}

/** Σ log-scale per example, over the transformed positions only. */
function logDetOf(g: GraphBuilder, p: Partition, logScale: Value): Value {
  const w = p.weight(g);
  return sumPerExample(g, w === null ? logScale : g.mul(logScale, w));
}

function step(ctx: LayerContext, spec: AffineCouplingSpec, v: Value, inShape: readonly number[], direction: 'forward' | 'inverse'): Step {
  const g = ctx.g;
  const p = partition(spec.mask, spec.parity, inShape);
  const { a, b } = p.split(g, v);
  const { t, logScale } = shiftAndLogScale(ctx, spec, p, a);
  let out: Value;
  if (spec.scale === 'sigmoid') {
    const scale = g.exp(logScale);
    out = direction === 'forward' ? g.mul(g.add(b, t), scale) : g.sub(g.div(b, scale), t);
  } else {
    out = direction === 'forward' ? g.add(g.mul(b, g.exp(logScale)), t) : g.mul(g.sub(b, t), g.exp(g.neg(logScale)));
  }
  return { out: p.merge(g, a, out), logDet: logDetOf(g, p, logScale) };
}

export const affineCoupling = defineLayer<AffineCouplingSpec>({
  type: 'affineCoupling',
  parse(o: Obj, path, inShape) {
    onlyKeys(o, path, ['type', 'mask', 'parity', 'conditioner', 'scale', 'scaleFloor']);
    const mask = oneOf(o, 'mask', path, ['half', 'alternating', 'channel', 'checkerboard'] as const, inShape.length === 3 ? 'checkerboard' : 'half');
    checkMask(mask, inShape, path);
    const parity = num(o, 'parity', path, { int: true, min: 0, max: 1, default: 0 }) as 0 | 1;
    const scale = oneOf(o, 'scale', path, ['tanhExp', 'sigmoid'] as const, 'tanhExp');
    const floor = o.scaleFloor === undefined ? undefined : num(o, 'scaleFloor', path, { min: 0, max: 1 });
    if (floor !== undefined && scale !== 'sigmoid') throw new SpecError(`${path}.scaleFloor`, `only the 'sigmoid' scale has a floor (scale is '${scale}')`);
    if (floor !== undefined && !(floor > 0 && floor < 1)) throw new SpecError(`${path}.scaleFloor`, `must lie strictly between 0 and 1, got ${floor}`);
    return { type: 'affineCoupling', mask, parity, conditioner: parseConditioner(o.conditioner, `${path}.conditioner`, inShape), scale, ...(floor !== undefined ? { scaleFloor: floor } : {}) };
  },
  outShape: (_, s) => [...s],
  params(spec, inShape, env) {
    const p = partition(spec.mask, spec.parity, inShape);
    const decls: Record<string, ParamDecl> = prefixed('conditioner', conditionerParams(spec.conditioner, p.condShape, conditionerOut(p), env?.context));
    if (spec.scale === 'tanhExp') {
      const c = p.transShape[0]!;
      decls.scaleFactor = { shape: [c], init: () => new Float64Array(c).fill(1) };
    }
    return decls;
  },
  forward: (ctx, spec, x, inShape) => step(ctx, spec, x, inShape, 'forward'),
  inverse: (ctx, spec, y, inShape) => step(ctx, spec, y, inShape, 'inverse'),
});
