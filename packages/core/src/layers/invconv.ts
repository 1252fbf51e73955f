import type { GraphBuilder, Value } from '../graph/graph.js';
import { oneOf, onlyKeys, type Obj } from '../flow/fields.js';
import type { Rng } from '../random.js';
import { defineLayer, type LayerContext, type ParamDecl, type WithDefaults } from './layer.js';

/**
 * Invertible 1×1 convolution (Glow, Kingma & Dhariwal 2018, https://arxiv.org/abs/1807.03039):
 * a learned linear map `W` `[C, C]` of the channels at every pixel (of the features, for vectors),
 *   forward `y = W x` (images: a 1×1 conv; vectors: `y = x Wᵀ`), inverse `x = W⁻¹ y`,
 *   log|det J| = H·W·log|det W| (the same for every example, so a scalar).
 *
 * - `plain`: `W` is a parameter, initialised to a random orthogonal matrix.
 * - `lu`: `W = P L (U + diag(sign ⊙ exp(logS)))` with a fixed permutation `P`, unit lower
 *   triangular `L`, strictly upper `U`, fixed signs; log|det W| = Σ logS, cheap and exact. All
 *   pieces are the LU factors of the same seeded orthogonal matrix, so both variants start
 *   from an orthogonal `W` (log|det W| = 0).
 *
 * @example { "type": "invConv1x1", "variant": "lu" }
 */
export interface InvConv1x1Spec {
  type: 'invConv1x1';
  variant: 'plain' | 'lu';
}

/** An invertible 1×1 convolution as written in a spec (`variant` defaults to `'lu'`). */
export type InvConv1x1Input = WithDefaults<InvConv1x1Spec, 'variant'>;

/** A random orthogonal matrix `[n, n]` (row-major): Gram–Schmidt QR of a seeded Gaussian. */
export function randomOrthogonal(n: number, rng: Rng): Float64Array {
  for (;;) {
    const a = rng.normals(n * n);
    const q = new Float64Array(n * n);
    let ok = true;
    // Modified Gram–Schmidt on the columns of `a`; q's columns are orthonormal.
    for (let j = 0; j < n && ok; j++) {
      const v = new Float64Array(n);
      for (let i = 0; i < n; i++) v[i] = a[i * n + j]!;
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[i * n + k]! * v[i]!;
        for (let i = 0; i < n; i++) v[i]! -= dot * q[i * n + k]!;
      }
      const norm = Math.hypot(...v);
      // A (measure-zero) rank-deficient draw: draw again.
      if (!(norm > 1e-8)) ok = false;
      for (let i = 0; i < n; i++) q[i * n + j] = v[i]! / norm;
    }
    if (ok) return q;
  }
}

/**
 * LU with partial pivoting in float64: `A = P L U`, `P` a permutation matrix, `L` unit lower
 * triangular, `U` upper triangular (all row-major `[n, n]`).
 */
export function luFactors(a: Float64Array, n: number): { p: Float64Array; l: Float64Array; u: Float64Array } {
  const m = Float64Array.from(a);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]!) > Math.abs(m[piv * n + k]!)) piv = i;
    if (m[piv * n + k] === 0) throw new Error('luFactors: the matrix is singular');
    if (piv !== k) {
      for (let j = 0; j < n; j++) [m[k * n + j], m[piv * n + j]] = [m[piv * n + j]!, m[k * n + j]!];
      [perm[k], perm[piv]] = [perm[piv]!, perm[k]!];
    }
    for (let i = k + 1; i < n; i++) {
      const f = (m[i * n + k]! /= m[k * n + k]!);
      for (let j = k + 1; j < n; j++) m[i * n + j]! -= f * m[k * n + j]!;
    }
  }
  const p = new Float64Array(n * n);
  const l = new Float64Array(n * n);
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    // Row i of the pivoted matrix is row perm[i] of A, so A = P (L U) with P[perm[i], i] = 1.
    p[perm[i]! * n + i] = 1;
    for (let j = 0; j < n; j++) {
      if (j < i) l[i * n + j] = m[i * n + j]!;
      else u[i * n + j] = m[i * n + j]!;
    }
    l[i * n + i] = 1;
  }
  return { p, l, u };
}

/** The LU parameters of a seeded orthogonal matrix; every LU parameter's init calls this with the same stream. */
function luInit(n: number, rng: Rng) {
  const { p, l, u } = luFactors(randomOrthogonal(n, rng), n);
  const diag = Array.from({ length: n }, (_, i) => u[i * n + i]!);
  const strict = (m: Float64Array, lower: boolean) => m.map((v, k) => (lower ? k % n < Math.floor(k / n) : k % n > Math.floor(k / n)) ? v : 0);
  return {
    p,
    lower: strict(l, true),
    upper: strict(u, false),
    sign: Float64Array.from(diag, Math.sign),
    logS: Float64Array.from(diag, (d) => Math.log(Math.abs(d))),
  };
}

/** A constant `[n, n]` with `f(i, j)` at row i, column j. */
function matrixConstant(g: GraphBuilder, n: number, f: (i: number, j: number) => number): Value {
  return g.constant(Array.from({ length: n * n }, (_, k) => f(Math.floor(k / n), k % n)), [n, n]);
}

/** `W` `[C, C]` and log|det W| as graph values (parameter-only). */
function weightAndLogDet(ctx: LayerContext, spec: InvConv1x1Spec, c: number): { w: Value; logAbsDet: Value } {
  const g = ctx.g;
  if (spec.variant === 'plain') {
    const w = ctx.param('weight');
    return { w, logAbsDet: g.logAbsDet(w) };
  }
  const eye = matrixConstant(g, c, (i, j) => (i === j ? 1 : 0));
  const l = g.add(g.mul(ctx.param('lower'), matrixConstant(g, c, (i, j) => (j < i ? 1 : 0))), eye);
  const logS = ctx.param('logS');
  const diag = g.mul(eye, g.reshape(g.mul(ctx.param('sign'), g.exp(logS)), [1, c]));
  const u = g.add(g.mul(ctx.param('upper'), matrixConstant(g, c, (i, j) => (j > i ? 1 : 0))), diag);
  return { w: g.matmul(g.matmul(ctx.param('p'), l), u), logAbsDet: g.sum(logS, [0]) };
}

/** Applies `m` `[C, C]` to the channels of `x` (`[N, C, H, W]`) or the features (`[N, C]`). */
function applyChannels(g: GraphBuilder, m: Value, x: Value, c: number): Value {
  return x.shape.length === 4 ? g.conv2d(x, g.reshape(m, [c, c, 1, 1]), [0, 0, 0, 0]) : g.matmul(x, g.transpose(m, [1, 0]));
}

function scaledLogDet(g: GraphBuilder, logAbsDet: Value, inShape: readonly number[]): Value {
  const pixels = inShape.length === 3 ? inShape[1]! * inShape[2]! : 1;
  return pixels === 1 ? logAbsDet : g.mul(logAbsDet, g.scalar(pixels));
}

export const invConv1x1 = defineLayer<InvConv1x1Spec>({
  type: 'invConv1x1',
  parse(o: Obj, path) {
    onlyKeys(o, path, ['type', 'variant']);
    return { type: 'invConv1x1', variant: oneOf(o, 'variant', path, ['plain', 'lu'] as const, 'lu') };
  },
  outShape: (_, s) => [...s],
  params(spec, inShape): Record<string, ParamDecl> {
    const c = inShape[0]!;
    if (spec.variant === 'plain') return { weight: { shape: [c, c], init: (rng) => randomOrthogonal(c, rng) } };
    const piece = (key: keyof ReturnType<typeof luInit>, shape: number[], trainable: boolean): ParamDecl => ({
      shape,
      init: (rng) => luInit(c, rng)[key],
      trainable,
      seedKey: 'weight',
    });
    return {
      p: piece('p', [c, c], false),
      sign: piece('sign', [c], false),
      lower: piece('lower', [c, c], true),
      upper: piece('upper', [c, c], true),
      logS: piece('logS', [c], true),
    };
  },
  forward(ctx, spec, x, inShape) {
    const g = ctx.g;
    const c = inShape[0]!;
    const { w, logAbsDet } = weightAndLogDet(ctx, spec, c);
    return { out: applyChannels(g, w, x, c), logDet: scaledLogDet(g, logAbsDet, inShape) };
  },
  inverse(ctx, spec, y, inShape) {
    const g = ctx.g;
    const c = inShape[0]!;
    const { w, logAbsDet } = weightAndLogDet(ctx, spec, c);
    return { out: applyChannels(g, g.matrixInverse(w), y, c), logDet: scaledLogDet(g, logAbsDet, inShape) };
  },
});
