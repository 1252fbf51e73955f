import { SpecError, num, oneOf, onlyKeys, type Obj } from '../flow/fields.js';
import { Rng } from '../random.js';
import { defineLayer, type WithDefaults } from './layer.js';

/**
 * A fixed permutation of the features (vectors `[D]`) or the channels (images `[C, H, W]`),
 * so that stacked couplings or autoregressive layers see each dimension in a new role
 * (RealNVP, https://arxiv.org/abs/1605.08803; MAF, https://arxiv.org/abs/1705.07057).
 *
 *   forward `y_i = x_{π(i)}`, inverse `x_j = y_{π⁻¹(j)}`, log|det J| = 0.
 *
 * `reverse`: `π(i) = n − 1 − i`; `random`: a permutation drawn from `seed` (required, so the
 * permutation is part of the spec). Both directions are a `gather` along axis 1.
 *
 * @example { "type": "permute", "kind": "reverse" }
 * @example { "type": "permute", "kind": "random", "seed": 3 }
 */
export interface PermuteSpec {
  type: 'permute';
  kind: 'reverse' | 'random';
  /** Present (and required) for `kind: 'random'`. */
  seed?: number;
}

/** A permutation as written in a spec (`kind` defaults to `'reverse'`). */
export type PermuteInput = WithDefaults<PermuteSpec, 'kind'>;

/** π as indices: `y[:, i] = x[:, π[i]]`, over the `n` features or channels. */
export function permutationOf(spec: PermuteSpec, n: number): number[] {
  if (spec.kind === 'reverse') return Array.from({ length: n }, (_, i) => n - 1 - i);
  return new Rng(spec.seed ?? 0).permutation(n);
}

export function inversePermutation(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

export const permute = defineLayer<PermuteSpec>({
  type: 'permute',
  parse(o: Obj, path) {
    onlyKeys(o, path, ['type', 'kind', 'seed']);
    const kind = oneOf(o, 'kind', path, ['reverse', 'random'] as const, 'reverse');
    if (kind === 'reverse') {
      if (o.seed !== undefined) throw new SpecError(`${path}.seed`, "a seed applies only to kind 'random', kind is 'reverse'");
      return { type: 'permute', kind };
    }
    if (o.seed === undefined) throw new SpecError(`${path}.seed`, "kind 'random' needs an integer seed (so the permutation is part of the spec)");
    return { type: 'permute', kind, seed: num(o, 'seed', path, { int: true, min: 0 }) };
  },
  outShape: (_, s) => [...s],
  params: () => ({}),
  forward(ctx, spec, x, inShape) {
    return { out: ctx.g.gather(x, 1, permutationOf(spec, inShape[0]!)), logDet: null };
  },
  inverse(ctx, spec, y, inShape) {
    return { out: ctx.g.gather(y, 1, inversePermutation(permutationOf(spec, inShape[0]!))), logDet: null };
  },
});
