import type { GraphBuilder, Value } from '../graph/graph.js';
import { SpecError, num, onlyKeys, type Obj } from '../flow/fields.js';
import { formatShape } from '../tensor.js';
import { defineLayer, type WithDefaults } from './layer.js';

/**
 * A learned orthogonal map as a product of R Householder reflections (the rotation of
 * Gaussianization flows, Meng, Song, Song & Ermon 2020, https://arxiv.org/abs/2003.01941, §3.2;
 * Tomczak & Welling 2016, https://arxiv.org/abs/1611.09630):
 *
 *   H_r = I − 2 v_r v_rᵀ / ‖v_r‖²  (symmetric, H_r² = I, det H_r = −1),
 *   forward  z = H_R ⋯ H_2 H_1 x, each step x ← x − (2 v_rᵀx/‖v_r‖²) v_r;
 *   inverse  x = H_1 H_2 ⋯ H_R z, the reflections in reverse order;
 *   log|det| = 0.
 *
 * The vectors `v` `[R, D]` start as seeded standard normal draws (a random orthogonal map);
 * any non-zero v is a reflection, so training needs no constraint. Applied to x directly,
 * O(R·D) per example, no D×D matrix is formed.
 *
 * @example { "type": "householder", "reflections": 2 }
 */
export interface HouseholderSpec {
  type: 'householder';
  /** R, the number of reflections. */
  reflections: number;
}

/** A Householder layer as written in a spec (`reflections` defaults to 2). */
export type HouseholderInput = WithDefaults<HouseholderSpec, 'reflections'>;

/** x ← H_r x for the rows of x `[N, D]`, v_r `[1, D]`. */
function reflect(g: GraphBuilder, x: Value, v: Value): Value {
  const twoOverNormSq = g.div(g.scalar(2), g.sum(g.mul(v, v), [1], true));
  const dots = g.matmul(x, g.transpose(v, [1, 0]));
  return g.sub(x, g.mul(g.mul(dots, twoOverNormSq), v));
}

function reflectAll(g: GraphBuilder, x: Value, vectors: Value, order: number[]): Value {
  let out = x;
  for (const r of order) out = reflect(g, out, g.slice(vectors, 0, r, r + 1));
  return out;
}

export const householder = defineLayer<HouseholderSpec>({
  type: 'householder',
  parse(o: Obj, path, inShape) {
    onlyKeys(o, path, ['type', 'reflections']);
    if (inShape.length !== 1) {
      throw new SpecError(`${path}.type`, `'householder' works on vectors [D]; its input is ${formatShape(inShape)} (flatten images first)`);
    }
    return { type: 'householder', reflections: num(o, 'reflections', path, { int: true, min: 1, max: 4096, default: 2 }) };
  },
  outShape: (_, s) => [...s],
  params(spec, inShape) {
    const d = inShape[0]!;
    return { vectors: { shape: [spec.reflections, d], init: (rng) => rng.normals(spec.reflections * d) } };
  },
  forward(ctx, spec, x) {
    const order = Array.from({ length: spec.reflections }, (_, r) => r);
    return { out: reflectAll(ctx.g, x, ctx.param('vectors'), order), logDet: null };
  },
  inverse(ctx, spec, z) {
    const order = Array.from({ length: spec.reflections }, (_, r) => spec.reflections - 1 - r);
    return { out: reflectAll(ctx.g, z, ctx.param('vectors'), order), logDet: null };
  },
});
