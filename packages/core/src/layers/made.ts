import type { GraphBuilder, Value } from '../graph/graph.js';
import { SpecError, intArray, num, oneOf, type Obj } from '../flow/fields.js';
import { Rng } from '../random.js';
import type { LayerContext, ParamDecl } from './layer.js';

/**
 * MADE: Masked Autoencoder for Distribution Estimation (Germain, Gregor, Murray &
 * Larochelle 2015, https://arxiv.org/abs/1502.03509), the conditioner of MAF and IAF.
 *
 * An MLP `h_l = act(h_{l−1} (W_l ⊙ M_l) + b_l)` whose binary masks make output `i` a function
 * of the inputs that come *before* `i` in an autoregressive order only:
 * - every input `d` gets a degree `m(d) ∈ 1..D` (a permutation, from `order`);
 * - hidden unit `k` of every layer gets a degree `m(k) ∈ 1..max(1, D−1)`, cycling
 *   `1, 2, …, D−1, 1, 2, …` (deterministic, and every degree is present once a layer has
 *   ≥ D−1 units, so no input–output path is lost);
 * - hidden unit `k` sees unit `j` of the layer below iff `m(k) ≥ m(j)`;
 * - output `d` (both heads) sees hidden unit `k` iff `m(d) > m(k)` (with no hidden layers:
 *   input `j` iff `m(d) > m(j)`).
 * So `∂out_d/∂x_j = 0` whenever `m(j) ≥ m(d)`: the Jacobian is strictly triangular in the order.
 *
 * Two zero-initialised output heads, each `[N, D]`: the shift `μ` and the raw log-scale
 * (`α` before the soft clamp of {@link softClampLogScale}), so a fresh MAF/IAF layer is the
 * identity. The masks are constants multiplied into the weight parameters in the graph; the
 * product depends on parameters only, so an engine computes it once per call (and a loop over
 * dimensions receives the masked weights as invariants, see {@link maskedWeights}).
 *
 * In a conditional flow the context c `[N, K]` enters the first hidden layer unmasked,
 * `h_1 = act(x (W_1 ⊙ M_1) + c V + b_1)` (`V` = `wContext`, `[K, H_1]`), so every output may
 * depend on c and the Jacobian in x keeps its triangular structure.
 */
export type MadeOrder = 'natural' | 'reverse' | 'random';

export interface MadeSpec {
  hidden: number[];
  activation: 'relu' | 'tanh';
  /** `natural`: degrees 1..D; `reverse`: D..1; `random`: a permutation drawn from `seed`. */
  order: MadeOrder;
  /** Present (and required) for `order: 'random'`. */
  seed?: number;
}

/** The MADE fields `parseMade` fills in with defaults (`[64, 64]`, `'relu'`, `'natural'`). */
export type MadeDefaulted = 'hidden' | 'activation' | 'order';

export const MADE_KEYS = ['hidden', 'activation', 'order', 'seed'] as const;

/** Reads the MADE fields of a layer spec (`hidden`, `activation`, `order`, `seed`). */
export function parseMade(o: Obj, path: string): MadeSpec {
  const hidden = intArray(o, 'hidden', path, { min: 1, default: [64, 64] });
  const activation = oneOf(o, 'activation', path, ['relu', 'tanh'] as const, 'relu');
  const order = oneOf(o, 'order', path, ['natural', 'reverse', 'random'] as const, 'natural');
  if (order !== 'random') {
    if (o.seed !== undefined) throw new SpecError(`${path}.seed`, `a seed applies only to order 'random', order is '${order}'`);
    return { hidden, activation, order };
  }
  if (o.seed === undefined) throw new SpecError(`${path}.seed`, "order 'random' needs an integer seed (so the order is part of the spec)");
  return { hidden, activation, order, seed: num(o, 'seed', path, { int: true, min: 0 }) };
}

/** Degrees of the D inputs (and outputs), each in 1..D. */
export function inputDegrees(spec: MadeSpec, d: number): number[] {
  if (spec.order === 'natural') return Array.from({ length: d }, (_, i) => i + 1);
  if (spec.order === 'reverse') return Array.from({ length: d }, (_, i) => d - i);
  return new Rng(spec.seed ?? 0).permutation(d).map((p) => p + 1);
}

/** Degrees of a hidden layer of `h` units: 1, 2, …, D−1, 1, 2, … (all 1 when D = 1). */
export function hiddenDegrees(h: number, d: number): number[] {
  const top = Math.max(1, d - 1);
  return Array.from({ length: h }, (_, k) => (k % top) + 1);
}

/**
 * The masks, one per weight matrix, each `[fanIn, fanOut]` row-major (the `W` in `h W`): the
 * hidden layers' then the output layer's (shared by both heads).
 */
export function madeMasks(spec: MadeSpec, d: number): { shape: [number, number]; values: number[] }[] {
  const degrees = [inputDegrees(spec, d), ...spec.hidden.map((h) => hiddenDegrees(h, d))];
  const masks: { shape: [number, number]; values: number[] }[] = [];
  const build = (from: number[], to: number[], sees: (mTo: number, mFrom: number) => boolean) => {
    const values = new Array<number>(from.length * to.length);
    from.forEach((mf, j) => to.forEach((mt, k) => (values[j * to.length + k] = sees(mt, mf) ? 1 : 0)));
    masks.push({ shape: [from.length, to.length], values });
  };
  for (let l = 1; l < degrees.length; l++) build(degrees[l - 1]!, degrees[l]!, (mt, mf) => mt >= mf);
  build(degrees[degrees.length - 1]!, degrees[0]!, (mt, mf) => mt > mf);
  return masks;
}

const zeros = (n: number) => () => new Float64Array(n);

/** Parameters: `w<i>`, `b<i>` per hidden layer, then the heads `wShift`, `bShift`, `wLogScale`, `bLogScale`. */
export function madeParams(spec: MadeSpec, d: number, contextDim = 0): Record<string, ParamDecl> {
  const p: Record<string, ParamDecl> = {};
  if (contextDim > 0) {
    const h = spec.hidden[0];
    if (h === undefined) throw new Error('a MADE in a conditional flow needs at least one hidden layer (the context enters the first)');
    const std = Math.sqrt((spec.activation === 'relu' ? 2 : 1) / (d + contextDim));
    p.wContext = { shape: [contextDim, h], init: (rng: Rng) => rng.normals(contextDim * h, std) };
  }
  const sizes = [d, ...spec.hidden];
  spec.hidden.forEach((h, i) => {
    const fanIn = sizes[i]!;
    const std = Math.sqrt((spec.activation === 'relu' ? 2 : 1) / fanIn);
    p[`w${i}`] = { shape: [fanIn, h], init: (rng: Rng) => rng.normals(fanIn * h, std) };
    p[`b${i}`] = { shape: [h], init: zeros(h) };
  });
  const last = sizes[sizes.length - 1]!;
  for (const head of ['Shift', 'LogScale']) {
    p[`w${head}`] = { shape: [last, d], init: zeros(last * d) };
    p[`b${head}`] = { shape: [d], init: zeros(d) };
  }
  return p;
}

/**
 * The masked weights and biases, in the order {@link applyMade} takes them:
 * `[W_0 ⊙ M_0, b_0, …, W_shift ⊙ M_out, b_shift, W_logScale ⊙ M_out, b_logScale]`.
 * Every entry depends on parameters only.
 */
export function maskedWeights(ctx: LayerContext, spec: MadeSpec, d: number): Value[] {
  const g = ctx.g;
  const masks = madeMasks(spec, d).map((m) => g.constant(m.values, m.shape));
  const out: Value[] = [];
  spec.hidden.forEach((_, i) => out.push(g.mul(ctx.param(`w${i}`), masks[i]!), ctx.param(`b${i}`)));
  const mOut = masks[masks.length - 1]!;
  for (const head of ['Shift', 'LogScale']) out.push(g.mul(ctx.param(`w${head}`), mOut), ctx.param(`b${head}`));
  return out;
}

/**
 * Runs the MADE on `x` `[N, D]` with weights from {@link maskedWeights} (values of `g`: the
 * layer's graph, or a loop body's invariants). Returns the shift and the raw log-scale.
 */
export function applyMade(g: GraphBuilder, spec: MadeSpec, weights: readonly Value[], x: Value, contextTerm: Value | null = null): { shift: Value; rawLogScale: Value } {
  let h = x;
  spec.hidden.forEach((_, i) => {
    let pre = g.add(g.matmul(h, weights[2 * i]!), weights[2 * i + 1]!);
    if (i === 0 && contextTerm !== null) pre = g.add(pre, contextTerm);
    h = spec.activation === 'relu' ? g.relu(pre) : g.tanh(pre);
  });
  const k = 2 * spec.hidden.length;
  return {
    shift: g.add(g.matmul(h, weights[k]!), weights[k + 1]!),
    rawLogScale: g.add(g.matmul(h, weights[k + 2]!), weights[k + 3]!),
  };
}

/**
 * The soft clamp `α = c · tanh(α̃ / c)`: smooth, strictly increasing, `≈ α̃` for `|α̃| ≪ c`
 * and bounded by `±c`. It keeps `exp(±α)` inside float32 range (e^c per dimension and
 * layer), and bounds how much an error in an early dimension can be amplified by the
 * sequential fixed-point directions. The log-det stays exact: it is `−Σ α` of the clamped `α`.
 */
export function softClampLogScale(g: GraphBuilder, raw: Value, bound: number): Value {
  return g.mul(g.tanh(g.mul(raw, g.scalar(1 / bound))), g.scalar(bound));
}
