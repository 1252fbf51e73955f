import type { GraphBuilder, Value } from '../graph/graph.js';
import { SpecError, num, onlyKeys, type Obj } from '../flow/fields.js';
import { formatShape } from '../tensor.js';
import { defineLayer, type LayerContext, type LayerDef, type Step, type WithDefaults } from './layer.js';
import { MADE_KEYS, applyMade, madeParams, maskedWeights, parseMade, softClampLogScale, type MadeDefaulted, type MadeSpec } from './made.js';
import { prefixed } from './nice.js';

/**
 * Affine autoregressive layers on vectors, with a {@link applyMade MADE} conditioner giving a
 * shift `μ` and a log-scale `α` per dimension, each a function of the dimensions before it in
 * the MADE's order only (`α = c·tanh(α̃/c)`, see {@link softClampLogScale}; `c = logScaleClamp`).
 *
 * - `maf`, Masked Autoregressive Flow (Papamakarios, Pavlakou & Murray 2017,
 *   https://arxiv.org/abs/1705.07057): the conditioner reads the data side `x`.
 *   Density (x → z), one parallel pass: `z = (x − μ(x)) ⊙ exp(−α(x))`.
 *   Sampling (z → x), sequential: `x_i = z_i · exp(α_i(x_{<i})) + μ_i(x_{<i})`.
 * - `iaf`, Inverse Autoregressive Flow (Kingma et al. 2016, https://arxiv.org/abs/1606.04934):
 *   the same family the other way round, the conditioner reads the latent side `z`.
 *   Sampling (z → x), one parallel pass: `x = z ⊙ exp(α(z)) + μ(z)`.
 *   Density (x → z), sequential: `z_i = (x_i − μ_i(z_{<i})) · exp(−α_i(z_{<i}))`.
 *
 * Both Jacobians are triangular in the order with diagonal `exp(∓α)`, so in either direction
 * `log|det ∂z/∂x| = −Σ_i α_i`, with `α` evaluated at the conditioner's side (x for MAF, z for IAF).
 *
 * The sequential directions are the fixed-point iteration `v ← T(v)` (T the parallel formula
 * with the conditioner evaluated at the current guess `v`), run by the `loop` primitive from
 * `v = 0`. After k iterations the first k dimensions in the order are exact, because dimension
 * k+1 only reads dimensions ≤ k. The loop runs D−1 times; a last pass outside the loop then
 * both completes dimension D and gives the α of the log-det (every α_i reads dimensions < i
 * only, all exact by then): D conditioner passes in all. The masked weights are computed once,
 * outside the loop, and enter the loop body as invariants.
 *
 * The soft clamp on α (default bound 5): without it one dimension can be scaled by an
 * unbounded exp(α), which overflows float32 and lets the sequential direction amplify a small
 * error in an early dimension without bound; tanh leaves small α unchanged (slope 1 at 0), so
 * a fresh or well-behaved layer is unaffected, and the layer stays an exact bijection with an
 * exact log-det.
 *
 * @example { "type": "maf", "hidden": [64, 64], "activation": "relu", "order": "natural" }
 * @example { "type": "iaf", "hidden": [32], "order": "random", "seed": 7, "logScaleClamp": 3 }
 */
export interface AutoregressiveSpec<T extends 'maf' | 'iaf'> extends MadeSpec {
  type: T;
  /** Bound c of the soft clamp α = c·tanh(α̃/c). */
  logScaleClamp: number;
}
export type MafSpec = AutoregressiveSpec<'maf'>;
export type IafSpec = AutoregressiveSpec<'iaf'>;

/** A MAF or IAF layer as written in a spec: every field but `type` (and `seed`, for order `'random'`) has a default. */
export type AutoregressiveInput<T extends 'maf' | 'iaf'> = WithDefaults<AutoregressiveSpec<T>, MadeDefaulted | 'logScaleClamp'>;
export type MafInput = AutoregressiveInput<'maf'>;
export type IafInput = AutoregressiveInput<'iaf'>;

interface Affine {
  shift: Value;
  logScale: Value;
}

function conditioner<T extends 'maf' | 'iaf'>(g: GraphBuilder, spec: AutoregressiveSpec<T>, weights: readonly Value[], v: Value, contextTerm: Value | null): Affine {
  const { shift, rawLogScale } = applyMade(g, spec, weights, v, contextTerm);
  return { shift, logScale: softClampLogScale(g, rawLogScale, spec.logScaleClamp) };
}

/** Data → latent: `z = (x − μ) ⊙ exp(−α)`. */
const toLatent = (g: GraphBuilder, x: Value, a: Affine) => g.mul(g.sub(x, a.shift), g.exp(g.neg(a.logScale)));
/** Latent → data: `x = z ⊙ exp(α) + μ`. */
const toData = (g: GraphBuilder, z: Value, a: Affine) => g.add(g.mul(z, g.exp(a.logScale)), a.shift);
/** log|det ∂z/∂x| = −Σ α, per example. */
const logDetOf = (g: GraphBuilder, a: Affine) => g.neg(g.sum(a.logScale, [1]));

/** A conditional flow's `c V` `[N, H_1]`, the context's term in the MADE's first layer (computed once, outside any loop). */
function contextTerm(ctx: LayerContext): Value | null {
  return ctx.context === null ? null : ctx.g.matmul(ctx.context, ctx.child('made').param('wContext'));
}

/** One pass: the conditioner reads `v` (the input of this direction). */
function parallel<T extends 'maf' | 'iaf'>(ctx: LayerContext, spec: AutoregressiveSpec<T>, v: Value, map: typeof toData): Step {
  const g = ctx.g;
  const a = conditioner(g, spec, maskedWeights(ctx.child('made'), spec, v.shape[1] as number), v, contextTerm(ctx));
  return { out: map(g, v, a), logDet: logDetOf(g, a) };
}

/** The sequential solve: the conditioner reads the output `u` being solved for, `u = map(given, c(u))`. */
function sequential<T extends 'maf' | 'iaf'>(ctx: LayerContext, spec: AutoregressiveSpec<T>, given: Value, map: typeof toData): Step {
  const g = ctx.g;
  const d = given.shape[1] as number;
  const weights = maskedWeights(ctx.child('made'), spec, d);
  const cTerm = contextTerm(ctx);
  let u = g.mul(given, g.scalar(0));
  if (d > 1) {
    const invariants = cTerm === null ? [given, ...weights] : [given, cTerm, ...weights];
    u = g.loop(d - 1, u, invariants, (b, state, inputs) => {
      const [inGiven, ...rest] = inputs;
      const inTerm = cTerm === null ? null : rest.shift()!;
      return map(b, inGiven!, conditioner(b, spec, rest, state, inTerm));
    });
  }
  const a = conditioner(g, spec, weights, u, cTerm);
  return { out: map(g, given, a), logDet: logDetOf(g, a) };
}

function autoregressive<T extends 'maf' | 'iaf'>(type: T): LayerDef<AutoregressiveSpec<T>> {
  return defineLayer<AutoregressiveSpec<T>>({
    type,
    parse(o: Obj, path, inShape) {
      onlyKeys(o, path, ['type', ...MADE_KEYS, 'logScaleClamp']);
      if (inShape.length !== 1) {
        throw new SpecError(`${path}.type`, `'${type}' works on vectors [D]; its input is ${formatShape(inShape)} (flatten images first, or use a coupling layer)`);
      }
      const made = parseMade(o, path);
      return { type, ...made, logScaleClamp: num(o, 'logScaleClamp', path, { minExclusive: 0, default: 5 }) };
    },
    outShape: (_, s) => [...s],
    params: (spec, inShape, env) => prefixed('made', madeParams(spec, inShape[0]!, env?.context)),
    // MAF reads x in the density direction (parallel); IAF must solve for z (sequential).
    forward: (ctx, spec, x) => (type === 'maf' ? parallel(ctx, spec, x, toLatent) : sequential(ctx, spec, x, toLatent)),
    // MAF must solve for x (sequential); IAF reads z in the sampling direction (parallel).
    inverse: (ctx, spec, z) => (type === 'maf' ? sequential(ctx, spec, z, toData) : parallel(ctx, spec, z, toData)),
  });
}

export const maf = autoregressive('maf');
export const iaf = autoregressive('iaf');
