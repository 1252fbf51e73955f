import type { GraphBuilder, Value } from '../graph/graph.js';
import { SpecError, onlyKeys, type Obj } from '../flow/fields.js';
import { formatShape } from '../tensor.js';
import { defineLayer, type LayerContext, type ParamDecl, type Step, type WithDefaults } from './layer.js';
import { MADE_KEYS, madeMasks, madeParams, parseMade, type MadeDefaulted, type MadeSpec } from './made.js';
import { prefixed } from './nice.js';
import { SPLINE_KEYS, parseSpline, rqSpline, splineParamCount, type SplineDefaulted, type SplineSpec } from './spline.js';

/**
 * Rational-quadratic spline autoregressive flow (Durkan, Bekasov, Murray & Papamakarios 2019,
 * https://arxiv.org/abs/1906.04032, §3.2 "autoregressive transform"; the MAF arrangement of
 * Papamakarios et al. 2017): every dimension goes through its own monotone {@link rqSpline}
 * whose `P = 3K − 1` raw parameters a {@link madeMasks MADE} computes from the dimensions
 * before it in the order: `z_i = RQS(x_i; θ_i(x_{<i}))`.
 *
 * - Density (x → z), one parallel pass: the MADE reads x.
 * - Sampling (z → x), sequential: `x_i = RQS⁻¹(z_i; θ_i(x_{<i}))`, the fixed-point iteration
 *   `u ← RQS⁻¹(z; θ(u))` from `u = 0` by the `loop` primitive (D − 1 iterations, then a last pass
 *   outside the loop that completes dimension D and gives the log-det), exactly as for `maf`:
 *   after k iterations the first k dimensions in the order are exact.
 *
 * The Jacobian is triangular in the order, so `log|det ∂z/∂x| = Σ_i log RQS'(x_i)`.
 *
 * The MADE has the hidden layers of `maf` and one zero-initialised output layer `[H, D·P]`;
 * column `i·P + j` is parameter j of dimension i and carries output i's mask column, so a fresh
 * layer is the identity. In a conditional flow the context enters the first hidden layer
 * unmasked (see `made.ts`).
 *
 * @example { "type": "splineAutoregressive", "hidden": [64, 64], "order": "reverse", "bins": 8, "bound": 4 }
 */
export interface SplineAutoregressiveSpec extends MadeSpec, SplineSpec {
  type: 'splineAutoregressive';
}

/** A spline autoregressive layer as written in a spec: every field but `type` (and `seed`, for order `'random'`) has a default. */
export type SplineAutoregressiveInput = WithDefaults<SplineAutoregressiveSpec, MadeDefaulted | SplineDefaulted>;

const zeros = (n: number) => () => new Float64Array(n);

/** The MADE's hidden layers (and context weights) of `made.ts`, with one `[H, D·P]` output layer. */
function params(spec: SplineAutoregressiveSpec, d: number, contextDim = 0): Record<string, ParamDecl> {
  const heads = new Set(['wShift', 'bShift', 'wLogScale', 'bLogScale']);
  const decls = Object.fromEntries(Object.entries(madeParams(spec, d, contextDim)).filter(([k]) => !heads.has(k)));
  const last = spec.hidden[spec.hidden.length - 1] ?? d;
  const out = d * splineParamCount(spec);
  decls.wOut = { shape: [last, out], init: zeros(last * out) };
  decls.bOut = { shape: [out], init: zeros(out) };
  return decls;
}

/** `[W_0 ⊙ M_0, b_0, …, W_out ⊙ M_out, b_out]`, parameters only (loop invariants). */
function maskedWeights(ctx: LayerContext, spec: SplineAutoregressiveSpec, d: number): Value[] {
  const g = ctx.g;
  const masks = madeMasks(spec, d);
  const out: Value[] = [];
  spec.hidden.forEach((_, i) => out.push(g.mul(ctx.param(`w${i}`), g.constant(masks[i]!.values, masks[i]!.shape)), ctx.param(`b${i}`)));
  const m = masks[masks.length - 1]!;
  const [fanIn] = m.shape;
  const p = splineParamCount(spec);
  const wide = new Array<number>(fanIn * d * p);
  for (let j = 0; j < fanIn; j++) for (let i = 0; i < d; i++) for (let q = 0; q < p; q++) wide[(j * d + i) * p + q] = m.values[j * d + i]!;
  out.push(g.mul(ctx.param('wOut'), g.constant(wide, [fanIn, d * p])), ctx.param('bOut'));
  return out;
}

/** The raw spline parameters `[N, D, P]` at `x`. */
function conditioner(g: GraphBuilder, spec: SplineAutoregressiveSpec, weights: readonly Value[], x: Value, contextTerm: Value | null): Value {
  let h = x;
  spec.hidden.forEach((_, i) => {
    let pre = g.add(g.matmul(h, weights[2 * i]!), weights[2 * i + 1]!);
    if (i === 0 && contextTerm !== null) pre = g.add(pre, contextTerm);
    h = spec.activation === 'relu' ? g.relu(pre) : g.tanh(pre);
  });
  const k = 2 * spec.hidden.length;
  const raw = g.add(g.matmul(h, weights[k]!), weights[k + 1]!);
  return g.reshape(raw, ['N', x.shape[1] as number, splineParamCount(spec)]);
}

function contextTerm(ctx: LayerContext): Value | null {
  return ctx.context === null ? null : ctx.g.matmul(ctx.context, ctx.child('made').param('wContext'));
}

const logDetOf = (g: GraphBuilder, ld: Value) => g.sum(ld, [1]);

/** Density: one pass, the MADE reads x. */
function density(ctx: LayerContext, spec: SplineAutoregressiveSpec, x: Value): Step {
  const g = ctx.g;
  const raw = conditioner(g, spec, maskedWeights(ctx.child('made'), spec, x.shape[1] as number), x, contextTerm(ctx));
  const { out, logDet } = rqSpline(g, spec, raw, x, 'forward');
  return { out, logDet: logDetOf(g, logDet) };
}

/** Sampling: solve `u = RQS⁻¹(z; θ(u))` by D − 1 fixed-point steps and a last pass. */
function sample(ctx: LayerContext, spec: SplineAutoregressiveSpec, z: Value): Step {
  const g = ctx.g;
  const d = z.shape[1] as number;
  const weights = maskedWeights(ctx.child('made'), spec, d);
  const cTerm = contextTerm(ctx);
  let u = g.mul(z, g.scalar(0));
  if (d > 1) {
    const invariants = cTerm === null ? [z, ...weights] : [z, cTerm, ...weights];
    u = g.loop(d - 1, u, invariants, (b, state, inputs) => {
      const [inZ, ...rest] = inputs;
      const inTerm = cTerm === null ? null : rest.shift()!;
      return rqSpline(b, spec, conditioner(b, spec, rest, state, inTerm), inZ!, 'inverse').out;
    });
  }
  const { out, logDet } = rqSpline(g, spec, conditioner(g, spec, weights, u, cTerm), z, 'inverse');
  return { out, logDet: logDetOf(g, logDet) };
}

export const splineAutoregressive = defineLayer<SplineAutoregressiveSpec>({
  type: 'splineAutoregressive',
  parse(o: Obj, path, inShape) {
    onlyKeys(o, path, ['type', ...MADE_KEYS, ...SPLINE_KEYS]);
    if (inShape.length !== 1) {
      throw new SpecError(`${path}.type`, `'splineAutoregressive' works on vectors [D]; its input is ${formatShape(inShape)} (flatten images first, or use 'splineCoupling')`);
    }
    return { type: 'splineAutoregressive', ...parseMade(o, path), ...parseSpline(o, path) };
  },
  outShape: (_, s) => [...s],
  params: (spec, inShape, env) => prefixed('made', params(spec, inShape[0]!, env?.context)),
  forward: (ctx, spec, x) => density(ctx, spec, x),
  inverse: (ctx, spec, z) => sample(ctx, spec, z),
});
