import type { GraphBuilder, Value } from '../graph/graph.js';
import { flatten } from '../graph/ops.js';
import { withContext } from '../flow/context.js';
import { SpecError, intArray, num, object, oneOf, onlyKeys, type Obj } from '../flow/fields.js';
import type { Rng } from '../random.js';
import { sizeOf } from '../tensor.js';
import type { LayerContext, ParamDecl } from './layer.js';

/**
 * Conditioner networks: the (non-invertible) functions of the conditioning half that give
 * a coupling its shift and scale.
 *
 * - `mlp`: dense layers `h ← act(h W_i + b_i)` over the flattened input, then a
 *   zero-initialised output layer, so a fresh coupling is the identity.
 *   `{ "type": "mlp", "hidden": [64, 64], "activation": "relu" }`
 * - `cnn` (Glow, Kingma & Dhariwal 2018, https://arxiv.org/abs/1807.03039): 3×3 conv → ReLU →
 *   1×1 conv → ReLU → zero-initialised 3×3 conv whose output is scaled by `exp(3·logs)`.
 *   `{ "type": "cnn", "hidden": 64 }`
 *
 * In a conditional flow both also read the context c `[N, K]`, concatenated to their input
 * (the MLP's first layer takes `[a, c]`, the CNN's first conv K more channels holding c
 * broadcast over the pixels; see `flow/context.ts`).
 */
export type ConditionerSpec =
  | { type: 'mlp'; hidden: number[]; activation: 'relu' | 'tanh' }
  | { type: 'cnn'; hidden: number };

/** A conditioner as written in a spec: `hidden` and `activation` have defaults (`[64, 64]`, `'relu'`; 64 channels). */
export type ConditionerInput = MlpConditionerInput | CnnConditionerInput;

export interface MlpConditionerInput {
  type: 'mlp';
  hidden?: number[];
  activation?: 'relu' | 'tanh';
}

export interface CnnConditionerInput {
  type: 'cnn';
  hidden?: number;
}

export function parseConditioner(raw: unknown, path: string, inShape: readonly number[]): ConditionerSpec {
  const o: Obj = object(raw ?? { type: inShape.length === 3 ? 'cnn' : 'mlp' }, path);
  const type = oneOf(o, 'type', path, ['mlp', 'cnn'] as const);
  if (type === 'mlp') {
    onlyKeys(o, path, ['type', 'hidden', 'activation']);
    return { type, hidden: intArray(o, 'hidden', path, { min: 1, default: [64, 64] }), activation: oneOf(o, 'activation', path, ['relu', 'tanh'] as const, 'relu') };
  }
  onlyKeys(o, path, ['type', 'hidden']);
  if (inShape.length !== 3) throw new SpecError(`${path}.type`, `a 'cnn' conditioner needs image inputs [C, H, W]; use 'mlp' for vectors`);
  return { type, hidden: num(o, 'hidden', path, { int: true, min: 1, default: 64 }) };
}

const zeros = (n: number) => () => new Float64Array(n);
const normal = (n: number, std: number) => (rng: Rng) => rng.normals(n, std);

/** Parameters of a conditioner from `inShape` to `outShape`; `contextDim` K widens its first layer. */
export function conditionerParams(spec: ConditionerSpec, inShape: readonly number[], outShape: readonly number[], contextDim = 0): Record<string, ParamDecl> {
  const p: Record<string, ParamDecl> = {};
  if (spec.type === 'mlp') {
    const sizes = [sizeOf(inShape) + contextDim, ...spec.hidden];
    spec.hidden.forEach((h, i) => {
      const fanIn = sizes[i]!;
      p[`w${i}`] = { shape: [fanIn, h], init: normal(fanIn * h, Math.sqrt((spec.activation === 'relu' ? 2 : 1) / fanIn)) };
      p[`b${i}`] = { shape: [h], init: zeros(h) };
    });
    const last = sizes[sizes.length - 1]!;
    const out = sizeOf(outShape);
    p.wOut = { shape: [last, out], init: zeros(last * out) };
    p.bOut = { shape: [out], init: zeros(out) };
    return p;
  }
  const cin = inShape[0]! + contextDim;
  const cout = outShape[0]!;
  const h = spec.hidden;
  p.w0 = { shape: [h, cin, 3, 3], init: normal(h * cin * 9, Math.sqrt(2 / (cin * 9))) };
  p.b0 = { shape: [h], init: zeros(h) };
  p.w1 = { shape: [h, h, 1, 1], init: normal(h * h, Math.sqrt(2 / h)) };
  p.b1 = { shape: [h], init: zeros(h) };
  p.wOut = { shape: [cout, h, 3, 3], init: zeros(cout * h * 9) };
  p.bOut = { shape: [cout], init: zeros(cout) };
  p.logs = { shape: [cout], init: zeros(cout) };
  return p;
}

function bias(g: GraphBuilder, b: Value, image: boolean): Value {
  return image ? g.reshape(b, [b.shape[0] as number, 1, 1]) : b;
}

/** Applies the conditioner to `x` `[N, ...inShape]`, returning `[N, ...outShape]`. */
export function applyConditioner(ctx: LayerContext, spec: ConditionerSpec, x: Value, outShape: readonly number[]): Value {
  const g = ctx.g;
  if (spec.type === 'mlp') {
    let h = withContext(g, x.shape.length === 2 ? x : flatten(g, x), ctx.context);
    spec.hidden.forEach((_, i) => {
      const pre = g.add(g.matmul(h, ctx.param(`w${i}`)), ctx.param(`b${i}`));
      h = spec.activation === 'relu' ? g.relu(pre) : g.tanh(pre);
    });
    const out = g.add(g.matmul(h, ctx.param('wOut')), ctx.param('bOut'));
    return outShape.length === 1 ? out : g.reshape(out, ['N', ...outShape]);
  }
  let h = g.relu(g.add(g.conv2d(withContext(g, x, ctx.context), ctx.param('w0'), [1, 1, 1, 1]), bias(g, ctx.param('b0'), true)));
  h = g.relu(g.add(g.conv2d(h, ctx.param('w1'), [0, 0, 0, 0]), bias(g, ctx.param('b1'), true)));
  const out = g.add(g.conv2d(h, ctx.param('wOut'), [1, 1, 1, 1]), bias(g, ctx.param('bOut'), true));
  return g.mul(out, bias(g, g.exp(g.mul(ctx.param('logs'), g.scalar(3))), true));
}
