import type { GraphBuilder, Value } from '../graph/graph.js';
import type { ParamDecl } from '../layers/layer.js';
import { InputError } from '../runtime/check.js';
import { formatShape, type Tensor } from '../tensor.js';

/**
 * Conditional flows p(x | c): a spec with `context: [K]` models x given a context vector c of
 * K values per example (class one-hots, covariates, simulator parameters), as in nflows'
 * and zuko's `context=`.
 *
 * How the context enters (concatenation, everywhere a network reads the data):
 * - every conditioner network — coupling MLPs and CNNs, MADE, the split's learned prior —
 *   reads `[a, c]` instead of `a`: an MLP's first layer takes the flattened input and c
 *   concatenated (`[N, D_a + K]`); a CNN (and the split prior's conv) takes c broadcast over
 *   the pixels as K more input channels (`[N, C_a + K, H, W]`, zero-padded at the border like
 *   the other channels); a MADE adds `c V` (V unmasked, `[K, H_1]`) to its first hidden layer's
 *   pre-activation, so every output may depend on c while the masks keep the order in x.
 *   None of these changes the layer's Jacobian in x: the maths of each layer holds for every
 *   fixed c, with shift and scale functions of (a, c).
 * - the base may be a learned conditional Gaussian (`base: 'conditionalGaussian'`):
 *   `u ~ N(μ(c), diag σ(c)²)` with `[μ, log σ] = c W + b` (zero-initialised, so a fresh flow
 *   has the standard normal base). It is applied as the last map of the density direction,
 *   `z = (u − μ(c)) ⊙ exp(−log σ(c))` with log-det `−Σ log σ(c)`, so `z` stays standard
 *   normal, `logProb = log N(z; 0, I) + logDet` and sampling decodes standard noise.
 */
export type BaseKind = 'normal' | 'conditionalGaussian';

/** Parameter-name prefix of the conditional base. */
export const BASE_PREFIX = 'base';

/** The graph input name of the context, in the traced graphs and the exported ONNX models. */
export const CONTEXT_INPUT = 'context';

/**
 * `v` with the context concatenated as extra features (`[N, D]` → `[N, D + K]`) or, for
 * images, as K extra channels broadcast over the pixels (`[N, C, H, W]` → `[N, C + K, H, W]`).
 */
export function withContext(g: GraphBuilder, v: Value, context: Value | null): Value {
  if (context === null) return v;
  if (v.shape.length === 2) return g.concat([v, context], 1);
  const [, , h, w] = v.shape as ['N', number, number, number];
  const k = context.shape[1] as number;
  const planes = g.mul(g.reshape(context, ['N', k, 1, 1]), g.constant(new Array<number>(h * w).fill(1), [1, h, w]));
  return g.concat([v, planes], 1);
}

export function conditionalBaseParams(k: number, d: number): Record<string, ParamDecl> {
  return {
    [`${BASE_PREFIX}.weight`]: { shape: [k, 2 * d], init: () => new Float64Array(k * 2 * d) },
    [`${BASE_PREFIX}.bias`]: { shape: [2 * d], init: () => new Float64Array(2 * d) },
  };
}

/** `μ(c)` and `log σ(c)`, each `[N, D]`. */
export function conditionalBase(g: GraphBuilder, weight: Value, bias: Value, context: Value, d: number): { mean: Value; logStd: Value } {
  const h = g.add(g.matmul(context, weight), bias);
  return { mean: g.slice(h, 1, 0, d), logStd: g.slice(h, 1, d, 2 * d) };
}

/** The conditioning part of runtime calls on a conditional flow. */
export interface ContextOptions {
  /** `[N, K]` (one row per example), or `[K]` / `[1, K]`: the same context for every example. */
  context?: Tensor;
}

/**
 * Checks a call's context against the flow's (`contextShape` `[K]`, or undefined for an
 * unconditional flow) and returns it as `[n, K]` (a single row repeated `n` times), or
 * undefined for an unconditional flow.
 */
export function checkContext(what: string, context: Tensor | undefined, contextShape: readonly number[] | undefined, n: number): Tensor | undefined {
  if (!contextShape) {
    if (context !== undefined) throw new InputError(`${what}: this flow is not conditional (its spec has no 'context'), but a context was given`);
    return undefined;
  }
  const k = contextShape[0]!;
  if (context === undefined) throw new InputError(`${what}: this flow is conditional on a context of shape [${k}]; pass { context } of shape [N, ${k}] or [${k}]`);
  if (typeof context !== 'object' || context === null || !Array.isArray(context.shape) || !(context.data instanceof Float32Array || context.data instanceof Float64Array)) {
    throw new InputError(`${what}: context must be a tensor { data: Float32Array | Float64Array, shape } of shape [N, ${k}] or [${k}]`);
  }
  const s = context.shape;
  const single = (s.length === 1 && s[0] === k) || (s.length === 2 && s[0] === 1 && s[1] === k && n !== 1);
  const full = s.length === 2 && s[0] === n && s[1] === k;
  if (!single && !full) throw new InputError(`${what}: context has shape ${formatShape(s)}, expected [${n}, ${k}] (one row per example) or [${k}]`);
  if (context.data.length !== (full ? n * k : k)) throw new InputError(`${what}: context has ${context.data.length} values for shape ${formatShape(s)}`);
  for (let i = 0; i < context.data.length; i++) {
    if (!Number.isFinite(context.data[i])) throw new InputError(`${what}: context value ${i} is ${context.data[i]}; every value must be finite`);
  }
  if (full) return context;
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) out[i * k + j] = context.data[j]!;
  return { data: out, shape: [n, k] };
}
