import { num, oneOf, onlyKeys, type Obj } from '../flow/fields.js';

import { sizeOf } from '../tensor.js';
import { applyConditioner, conditionerParams, parseConditioner, type ConditionerInput, type ConditionerSpec } from './conditioner.js';
import { defineLayer, type WithDefaults } from './layer.js';
import { checkMask, partition, type MaskKind } from './masks.js';

/**
 * NICE: Non-linear Independent Components Estimation (Dinh, Krueger & Bengio 2014,
 * https://arxiv.org/abs/1410.8516).
 *
 * Additive coupling: with the input split into a conditioning part `a` and a part `b`
 * (see {@link partition}),
 *   forward  `y_a = x_a`, `y_b = x_b + m(x_a)`;
 *   inverse  `x_b = y_b − m(y_a)`;
 *   log|det J| = 0 (volume preserving).
 *
 * @example { "type": "additiveCoupling", "mask": "half", "parity": 0, "conditioner": { "type": "mlp", "hidden": [64, 64] } }
 */
export interface AdditiveCouplingSpec {
  type: 'additiveCoupling';
  mask: MaskKind;
  parity: 0 | 1;
  conditioner: ConditionerSpec;
}

/** An additive coupling as written in a spec: the conditioner and every field but `type` have defaults. */
export interface AdditiveCouplingInput extends WithDefaults<Omit<AdditiveCouplingSpec, 'conditioner'>, 'mask' | 'parity'> {
  conditioner?: ConditionerInput;
}

export const additiveCoupling = defineLayer<AdditiveCouplingSpec>({
  type: 'additiveCoupling',
  parse(o: Obj, path, inShape) {
    onlyKeys(o, path, ['type', 'mask', 'parity', 'conditioner']);
    const mask = oneOf(o, 'mask', path, ['half', 'alternating', 'channel', 'checkerboard'] as const, inShape.length === 3 ? 'checkerboard' : 'half');
    checkMask(mask, inShape, path);
    const parity = num(o, 'parity', path, { int: true, min: 0, max: 1, default: 0 }) as 0 | 1;
    return { type: 'additiveCoupling', mask, parity, conditioner: parseConditioner(o.conditioner, `${path}.conditioner`, inShape) };
  },
  outShape: (_, s) => [...s],
  params(spec, inShape, env) {
    const p = partition(spec.mask, spec.parity, inShape);
    return prefixed('conditioner', conditionerParams(spec.conditioner, p.condShape, p.transShape, env?.context));
  },
  forward(ctx, spec, x, inShape) {
    const g = ctx.g;
    const p = partition(spec.mask, spec.parity, inShape);
    const { a, b } = p.split(g, x);
    const t = applyConditioner(ctx.child('conditioner'), spec.conditioner, a, p.transShape);
    return { out: p.merge(g, a, g.add(b, t)), logDet: null };
  },
  inverse(ctx, spec, y, inShape) {
    const g = ctx.g;
    const p = partition(spec.mask, spec.parity, inShape);
    const { a, b } = p.split(g, y);
    const t = applyConditioner(ctx.child('conditioner'), spec.conditioner, a, p.transShape);
    return { out: p.merge(g, a, g.sub(b, t)), logDet: null };
  },
});

/**
 * NICE's diagonal scaling, the last layer of a NICE flow:
 *   forward `y = x ⊙ exp(s)`, inverse `x = y ⊙ exp(−s)`, log|det J| = Σ s
 * with one learned `s` per event entry (initialised to 0).
 *
 * @example { "type": "scale" }
 */
export interface ScaleSpec {
  type: 'scale';
}

export const scale = defineLayer<ScaleSpec>({
  type: 'scale',
  parse(o: Obj, path) {
    onlyKeys(o, path, ['type']);
    return { type: 'scale' };
  },
  outShape: (_, s) => [...s],
  params: (_, s) => ({ logScale: { shape: [...s], init: () => new Float64Array(sizeOf(s)) } }),
  forward(ctx, _, x) {
    const g = ctx.g;
    const s = ctx.param('logScale');
    return { out: g.mul(x, g.exp(s)), logDet: g.sum(s, s.shape.map((_d, i) => i)) };
  },
  inverse(ctx, _, y) {
    const g = ctx.g;
    const s = ctx.param('logScale');
    return { out: g.mul(y, g.exp(g.neg(s))), logDet: g.sum(s, s.shape.map((_d, i) => i)) };
  },
});

export function prefixed<T>(prefix: string, decls: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(decls).map(([k, v]) => [`${prefix}.${k}`, v]));
}

