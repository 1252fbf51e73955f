import { withContext } from '../flow/context.js';
import type { GraphBuilder, Value } from '../graph/graph.js';
import { sumPerExample } from '../graph/ops.js';
import { SpecError, num, oneOf, onlyKeys, type Obj } from '../flow/fields.js';
import { formatShape, sizeOf } from '../tensor.js';
import { defineLayer, type LayerContext, type ParamDecl, type Step, type WithDefaults } from './layer.js';
import { softClampLogScale } from './made.js';

/**
 * The multi-scale architecture of RealNVP (Dinh, Sohl-Dickstein & Bengio 2016,
 * https://arxiv.org/abs/1605.08803, §3.6), as used by Glow.
 *
 * `squeeze`: 2×2 space-to-depth, `[C, H, W] → [4C, H/2, W/2]`, with
 * `y[4c + 2a + b, i, j] = x[c, 2i + a, 2j + b]`; a permutation, so log|det J| = 0.
 *
 * @example { "type": "squeeze" }
 */
export interface SqueezeSpec {
  type: 'squeeze';
}

export const squeeze = defineLayer<SqueezeSpec>({
  type: 'squeeze',
  parse(o: Obj, path, inShape) {
    onlyKeys(o, path, ['type']);
    if (inShape.length !== 3) throw new SpecError(`${path}.type`, `squeeze needs an image input [C, H, W], got ${formatShape(inShape)}`);
    if (inShape[1]! % 2 !== 0 || inShape[2]! % 2 !== 0) {
      throw new SpecError(`${path}.type`, `squeeze needs an even height and width, input is ${formatShape(inShape)}`);
    }
    return { type: 'squeeze' };
  },
  outShape: (_, [c, h, w]) => [4 * c!, h! / 2, w! / 2],
  params: () => ({}),
  forward(ctx, _, x, [c, h, w]) {
    const g = ctx.g;
    const [hh, wh] = [h! / 2, w! / 2];
    const blocks = g.reshape(x, ['N', c!, hh, 2, wh, 2]);
    return { out: g.reshape(g.transpose(blocks, [0, 1, 3, 5, 2, 4]), ['N', 4 * c!, hh, wh]), logDet: null };
  },
  inverse(ctx, _, y, [c, h, w]) {
    const g = ctx.g;
    const [hh, wh] = [h! / 2, w! / 2];
    const blocks = g.reshape(y, ['N', c!, 2, 2, hh, wh]);
    return { out: g.reshape(g.transpose(blocks, [0, 1, 4, 2, 5, 3]), ['N', c!, h!, w!]), logDet: null };
  },
});

/**
 * `split`: factor out half the channels (features, for vectors) as latent variables. It
 * keeps `z₁` = the first ⌊C/2⌋ channels and emits `z₂` = the rest into the latent `z`.
 *
 * - `prior: 'normal'`: the emitted piece is `z₂` itself (standard normal prior); log|det J| = 0.
 * - `prior: 'conditional'` (Glow's learned prior): a zero-initialised 3×3 conv of `z₁` (a dense
 *   layer for vectors) gives `(μ, log σ)`, the emitted piece is `ε = (z₂ − μ) ⊙ exp(−log σ)`,
 *   so `z₂ ~ N(μ, σ²)`; log|det J| = −Σ log σ. Inverse: `z₂ = ε ⊙ exp(log σ) + μ`.
 *   With `logScaleClamp` c, log σ = c·tanh(ĥ/c) for the conv's output ĥ (as MAF's scales), so
 *   σ ≥ e^(−c): unbounded, the prior learned σ ≈ 1e-9 somewhere on Fashion-MNIST, and one test
 *   image whose factored pixel strayed from μ there got ε ≈ 1e9 and 1e15 bits/dim.
 *
 * @example { "type": "split", "prior": "conditional", "logScaleClamp": 5 }
 */
export interface SplitSpec {
  type: 'split';
  prior: 'normal' | 'conditional';
  /** Soft bound c on the learned prior's |log σ| (conditional prior only; none when absent). */
  logScaleClamp?: number;
}

/** A split as written in a spec (`prior` defaults to `'conditional'`). */
export type SplitInput = WithDefaults<SplitSpec, 'prior'>;

/** Channels kept, and factored out. */
function halves(inShape: readonly number[]): [number, number] {
  const c = inShape[0]!;
  return [Math.floor(c / 2), c - Math.floor(c / 2)];
}

/** The learned prior's `(μ, log σ)` for the factored half, from the kept half `z1`. */
function conditionalPrior(ctx: LayerContext, spec: SplitSpec, z1: Value, factored: number): { mean: Value; logStd: Value } {
  const g = ctx.g;
  const w = ctx.param('weight');
  const b = ctx.param('bias');
  // A conditional flow's prior also reads the context (concatenated, see flow/context.ts).
  const input = withContext(g, z1, ctx.context);
  const h =
    z1.shape.length === 4
      ? g.add(g.conv2d(input, w, [1, 1, 1, 1]), g.reshape(b, [2 * factored, 1, 1]))
      : g.add(g.matmul(input, w), b);
  const raw = g.slice(h, 1, factored, 2 * factored);
  return { mean: g.slice(h, 1, 0, factored), logStd: spec.logScaleClamp === undefined ? raw : softClampLogScale(g, raw, spec.logScaleClamp) };
}

function negSum(g: GraphBuilder, logStd: Value): Value {
  return g.neg(sumPerExample(g, logStd));
}

export const split = defineLayer<SplitSpec>({
  type: 'split',
  parse(o: Obj, path, inShape) {
    onlyKeys(o, path, ['type', 'prior', 'logScaleClamp']);
    if (inShape[0]! < 2) {
      throw new SpecError(`${path}.type`, `split needs at least 2 ${inShape.length === 3 ? 'channels' : 'features'}, input is ${formatShape(inShape)}`);
    }
    const prior = oneOf(o, 'prior', path, ['normal', 'conditional'] as const, 'conditional');
    if (o.logScaleClamp === undefined) return { type: 'split', prior };
    if (prior !== 'conditional') throw new SpecError(`${path}.logScaleClamp`, `only the 'conditional' prior has a scale to clamp (prior is '${prior}')`);
    return { type: 'split', prior, logScaleClamp: num(o, 'logScaleClamp', path, { minExclusive: 0 }) };
  },
  outShape: (_, s) => [halves(s)[0], ...s.slice(1)],
  latentShapes: (_, s) => [[halves(s)[1], ...s.slice(1)]],
  params(spec, inShape, env): Record<string, ParamDecl> {
    if (spec.prior === 'normal') return {};
    const [kept, factored] = halves(inShape);
    const k = env?.context ?? 0;
    const shape = inShape.length === 3 ? [2 * factored, kept + k, 3, 3] : [kept + k, 2 * factored];
    return {
      weight: { shape, init: () => new Float64Array(sizeOf(shape)) },
      bias: { shape: [2 * factored], init: () => new Float64Array(2 * factored) },
    };
  },
  forward(ctx, spec, x, inShape): Step {
    const g = ctx.g;
    const [kept, factored] = halves(inShape);
    const z1 = g.slice(x, 1, 0, kept);
    const z2 = g.slice(x, 1, kept, kept + factored);
    if (spec.prior === 'normal') {
      ctx.emitLatent(z2);
      return { out: z1, logDet: null };
    }
    const { mean, logStd } = conditionalPrior(ctx, spec, z1, factored);
    ctx.emitLatent(g.mul(g.sub(z2, mean), g.exp(g.neg(logStd))));
    return { out: z1, logDet: negSum(g, logStd) };
  },
  inverse(ctx, spec, z1, inShape): Step {
    const g = ctx.g;
    const [, factored] = halves(inShape);
    const piece = ctx.takeLatent([factored, ...inShape.slice(1)]);
    if (spec.prior === 'normal') return { out: g.concat([z1, piece], 1), logDet: null };
    const { mean, logStd } = conditionalPrior(ctx, spec, z1, factored);
    const z2 = g.add(g.mul(piece, g.exp(logStd)), mean);
    return { out: g.concat([z1, z2], 1), logDet: negSum(g, logStd) };
  },
});
