import { GraphError, type GraphBuilder, type Value } from '../graph/graph.js';
import { inlineGraph } from '../graph/inline.js';
import type { NodeOf, PrimitiveName } from '../graph/primitives.js';
import { backpropGraph } from './backprop.js';
import { batchOnes, broadcastTo, invertPerm, reverse, transposeLast, unbroadcast, zeros } from './shapes.js';

/** What a rule may ask of the differentiation in progress. */
export interface VjpContext {
  /** Whether each input's cotangent is needed (a rule may skip the others and return `null`). */
  readonly wants: readonly boolean[];
  /** Parameters being differentiated. */
  readonly wrt: ReadonlySet<string>;
  /** Adds a cotangent to a parameter reached other than through the node's inputs (a `loop` body's parameters). */
  addParam(name: string, cotangent: Value): void;
}

/**
 * The vector–Jacobian product of one primitive: given the node, its inputs and output as
 * re-emitted in `g`, and the output's cotangent `dy` (shape of the output), the cotangent of
 * each input (shape of that input), or `null` where the input is not differentiable
 * (boolean conditions) or not wanted.
 */
export type VjpRule<K extends PrimitiveName> = (
  g: GraphBuilder,
  node: NodeOf<K>,
  inputs: readonly Value[],
  output: Value,
  dy: Value,
  ctx: VjpContext,
) => (Value | null)[];

/** One rule per primitive: a primitive without a gradient is a compile error. */
export type GradientTable = { readonly [K in PrimitiveName]: VjpRule<K> };

const leaf = (): (Value | null)[] => [];
const comparison = (): (Value | null)[] => [null, null];
const scalar = (g: GraphBuilder, v: number) => g.scalar(v);

/** `where(mask, dy, 0)` and `where(mask, 0, dy)`. */
const pick = (g: GraphBuilder, mask: Value, dy: Value) => g.where(mask, dy, scalar(g, 0));
const pickNot = (g: GraphBuilder, mask: Value, dy: Value) => g.where(mask, scalar(g, 0), dy);

/** dy of a reduction broadcast back to the input's shape (reinserting reduced axes first). */
function expandReduced(g: GraphBuilder, node: NodeOf<'sum' | 'mean' | 'max'>, x: Value, v: Value): Value {
  const { axes, keepDims } = node.attrs;
  const kept = keepDims ? v : g.reshape(v, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
  return broadcastTo(g, kept, x.shape, x);
}

/** x's cotangent of `matmul(a, b)` with `a` `[N, K]` (the batch as rows): Σₙ aₙᵀ dyₙ as a batch of outer products. */
function matmulRowsGradB(g: GraphBuilder, a: Value, dy: Value, bShape: Value['shape']): Value {
  const k = a.shape[1] as number;
  const p = dy.shape[1] as number;
  const outer = g.matmul(g.reshape(a, ['N', k, 1]), g.reshape(dy, ['N', 1, p]));
  return unbroadcast(g, outer, bShape);
}

/**
 * d/dx of `conv2d(x, w, pads)`: the full correlation of dy with the spatially flipped,
 * in/out-transposed kernel, pads `k − 1 − p` per side (a negative pad crops dy instead).
 */
function conv2dGradX(g: GraphBuilder, w: Value, dy: Value, pads: readonly number[]): Value {
  const [, , kh, kw] = w.shape as number[];
  const flipped = g.transpose(reverse(g, reverse(g, w, 2), 3), [1, 0, 2, 3]);
  const want = [kh! - 1 - pads[0]!, kw! - 1 - pads[1]!, kh! - 1 - pads[2]!, kw! - 1 - pads[3]!];
  let d = dy;
  const crop = (axis: number, before: number, after: number) => {
    if (before > 0 || after > 0) d = g.slice(d, axis, before, (d.shape[axis] as number) - after);
  };
  crop(2, Math.max(0, -want[0]!), Math.max(0, -want[2]!));
  crop(3, Math.max(0, -want[1]!), Math.max(0, -want[3]!));
  return g.conv2d(d, flipped, want.map((p) => Math.max(0, p)) as [number, number, number, number]);
}

/**
 * The gradient table: each rule written in primitives, so every engine that runs graphs runs
 * the backward graph too.
 */
export const gradientTable: GradientTable = {
  input: leaf,
  param: leaf,
  constant: leaf,

  neg: (g, _n, _x, _y, dy) => [g.neg(dy)],
  exp: (g, _n, _x, y, dy) => [g.mul(dy, y)],
  log: (g, _n, [x], _y, dy) => [g.div(dy, x!)],
  tanh: (g, _n, _x, y, dy) => [g.mul(dy, g.sub(scalar(g, 1), g.mul(y, y)))],
  sigmoid: (g, _n, _x, y, dy) => [g.mul(dy, g.mul(y, g.sub(scalar(g, 1), y)))],
  // y > 0 exactly where x > 0; reading y leaves x one consumer, so an engine may fuse x's
  // producer with the ReLU (ONNX Runtime's Conv + Relu).
  relu: (g, _n, _x, y, dy) => [pick(g, g.less(scalar(g, 0), y), dy)],
  sqrt: (g, _n, _x, y, dy) => [g.div(g.mul(dy, scalar(g, 0.5)), y)],
  abs: (g, _n, [x], _y, dy) => [g.where(g.greaterEqual(x!, scalar(g, 0)), dy, g.neg(dy))],
  // erf′(x) = 2/√π · e^(−x²)
  erf: (g, _n, [x], _y, dy) => [g.mul(dy, g.mul(g.exp(g.neg(g.mul(x!, x!))), scalar(g, 2 / Math.sqrt(Math.PI))))],

  add: (g, _n, [a, b], _y, dy, c) => [c.wants[0] ? unbroadcast(g, dy, a!.shape) : null, c.wants[1] ? unbroadcast(g, dy, b!.shape) : null],
  sub: (g, _n, [a, b], _y, dy, c) => [c.wants[0] ? unbroadcast(g, dy, a!.shape) : null, c.wants[1] ? unbroadcast(g, g.neg(dy), b!.shape) : null],
  mul: (g, _n, [a, b], _y, dy, c) => [
    c.wants[0] ? unbroadcast(g, g.mul(dy, b!), a!.shape) : null,
    c.wants[1] ? unbroadcast(g, g.mul(dy, a!), b!.shape) : null,
  ],
  div: (g, _n, [a, b], y, dy, c) => [
    c.wants[0] ? unbroadcast(g, g.div(dy, b!), a!.shape) : null,
    c.wants[1] ? unbroadcast(g, g.neg(g.div(g.mul(dy, y), b!)), b!.shape) : null,
  ],
  maximum: (g, _n, [a, b], _y, dy, c) => {
    const mask = g.greaterEqual(a!, b!);
    return [c.wants[0] ? unbroadcast(g, pick(g, mask, dy), a!.shape) : null, c.wants[1] ? unbroadcast(g, pickNot(g, mask, dy), b!.shape) : null];
  },
  less: comparison,
  greaterEqual: comparison,
  where: (g, _n, [cond, a, b], _y, dy, c) => [
    null,
    c.wants[1] ? unbroadcast(g, pick(g, cond!, dy), a!.shape) : null,
    c.wants[2] ? unbroadcast(g, pickNot(g, cond!, dy), b!.shape) : null,
  ],

  sum: (g, n, [x], _y, dy) => [expandReduced(g, n, x!, dy)],
  mean: (g, n, [x], _y, dy) => {
    const spread = expandReduced(g, n, x!, dy);
    const fixed = n.attrs.axes.reduce((p, a) => (x!.shape[a] === 'N' ? p : p * (x!.shape[a] as number)), 1);
    const scaled = g.mul(spread, scalar(g, 1 / fixed));
    // Averaging over the batch axis divides by N, known only at run time: N = Σ ones.
    if (!n.attrs.axes.some((a) => x!.shape[a] === 'N')) return [scaled];
    return [g.div(scaled, g.sum(batchOnes(g, x!), [0]))];
  },
  max: (g, n, [x], y, dy) => {
    const mask = g.greaterEqual(x!, expandReduced(g, n, x!, y));
    return [pick(g, mask, expandReduced(g, n, x!, dy))];
  },

  matmul: (g, _n, [a, b], _y, dy, c) => {
    const da = c.wants[0] ? unbroadcast(g, g.matmul(dy, transposeLast(g, b!)), a!.shape) : null;
    let db: Value | null = null;
    if (c.wants[1]) {
      db = a!.shape.length === 2 && a!.shape[0] === 'N' ? matmulRowsGradB(g, a!, dy, b!.shape) : unbroadcast(g, g.matmul(transposeLast(g, a!), dy), b!.shape);
    }
    return [da, db];
  },
  conv2d: (g, n, [x, w], _y, dy, c) => [
    c.wants[0] ? conv2dGradX(g, w!, dy, n.attrs.pads) : null,
    c.wants[1] ? g.conv2dWeightGrad(x!, dy, n.attrs.pads, [w!.shape[2] as number, w!.shape[3] as number]) : null,
  ],
  // Bilinear in (x, dy): ⟨Ḡ, conv2dWeightGrad(x, dy)⟩ = ⟨conv2d(x, Ḡ), dy⟩, so x̄ is conv2d's
  // input gradient for filter Ḡ and cotangent dy, and d̄y = conv2d(x, Ḡ).
  conv2dWeightGrad: (g, n, [x, dy], _y, dG, c) => [
    c.wants[0] ? conv2dGradX(g, dG, dy!, n.attrs.pads) : null,
    c.wants[1] ? g.conv2d(x!, dG, n.attrs.pads) : null,
  ],

  reshape: (g, _n, [x], _y, dy) => [g.reshape(dy, x!.shape)],
  transpose: (g, n, _x, _y, dy) => [g.transpose(dy, invertPerm(n.attrs.perm))],
  slice: (g, n, [x], _y, dy) => {
    const { axis, start, end } = n.attrs;
    const size = x!.shape[axis] as number;
    const part = (len: number) => zeros(g, dy.shape.map((d, i) => (i === axis ? len : d)), dy);
    const parts = [...(start > 0 ? [part(start)] : []), dy, ...(end < size ? [part(size - end)] : [])];
    return [parts.length === 1 ? dy : g.concat(parts, axis)];
  },
  concat: (g, n, xs, _y, dy, c) => {
    let at = 0;
    return xs.map((x, i) => {
      const len = x.shape[n.attrs.axis] as number;
      const piece = c.wants[i] ? g.slice(dy, n.attrs.axis, at, at + len) : null;
      at += len;
      return piece;
    });
  },
  gather: (g, n, [x], _y, dy) => {
    const { axis, indices } = n.attrs;
    const d = x!.shape[axis] as number;
    if (indices.length === d && new Set(indices).size === d) return [g.gather(dy, axis, invertPerm(indices))];
    // Repeated or dropped indices: scatter-add as a one-hot matmul over the gathered axis.
    const r = dy.shape.length;
    const toLast = [...Array.from({ length: r }, (_, i) => i).filter((i) => i !== axis), axis];
    const oneHot = new Array<number>(indices.length * d).fill(0);
    indices.forEach((k, j) => (oneHot[j * d + k] = 1));
    const moved = r === 1 ? g.reshape(dy, [1, indices.length]) : g.transpose(dy, toLast);
    const scattered = g.matmul(moved, g.constant(oneHot, [indices.length, d]));
    return [r === 1 ? g.reshape(scattered, [d]) : g.transpose(scattered, invertPerm(toLast))];
  },
  cumsum: (g, n, _x, _y, dy) => [reverse(g, g.cumsum(reverse(g, dy, n.attrs.axis), n.attrs.axis), n.attrs.axis)],

  // d log|det A| = A⁻ᵀ
  logAbsDet: (g, _n, [a], _y, dy) => [g.mul(g.transpose(g.matrixInverse(a!), [1, 0]), dy)],
  // d(A⁻¹) = −A⁻¹ dA A⁻¹, so Ā = −A⁻ᵀ Ȳ A⁻ᵀ
  matrixInverse: (g, _n, _a, y, dy) => {
    const yt = g.transpose(y, [1, 0]);
    return [g.neg(g.matmul(g.matmul(yt, dy), yt))];
  },

  // Unrolled: the body is emitted once per step, then differentiated step by step in reverse.
  loop: (g, n, [state, ...inv], _y, dy, c) => {
    const body = n.attrs.body;
    const bound = (s: Value): Record<string, Value> => Object.fromEntries([['state', s], ...inv.map((v, i) => [`inv${i}`, v] as const)]);
    const steps: Map<number, Value>[] = [];
    let s = state!;
    for (let i = 0; i < n.attrs.count; i++) {
      const all = allValues(g, body, bound(s));
      steps.push(all);
      s = all.get(body.outputs.state!)!;
    }
    let ct: Value | null = dy;
    const invCt: (Value | null)[] = inv.map(() => null);
    const wantInputs = new Set<string>(['state', ...inv.map((_, i) => `inv${i}`)].filter((_, i) => i === 0 || c.wants[i]));
    for (let i = n.attrs.count - 1; i >= 0 && ct !== null; i--) {
      const got = backpropGraph(g, body, steps[i]!, new Map([[body.outputs.state!, ct]]), wantInputs, c.wrt, (name, v) => c.addParam(name, v));
      ct = got.state ?? null;
      inv.forEach((_, k) => {
        const v = got[`inv${k}`];
        if (v) invCt[k] = invCt[k] ? g.add(invCt[k]!, v) : v;
      });
    }
    return [c.wants[0] ? ct : null, ...invCt];
  },
};

/** Emits `graph` into `g` with its inputs bound, returning the value of every node by id. */
export function allValues(g: GraphBuilder, graph: Parameters<typeof inlineGraph>[1], bound: Readonly<Record<string, Value>>): Map<number, Value> {
  const every = { ...graph, outputs: Object.fromEntries(graph.nodes.map((nd) => [`%${nd.id}`, nd.id])) };
  const out = inlineGraph(g, every, bound);
  const m = new Map<number, Value>();
  for (const nd of graph.nodes) {
    const v = out[`%${nd.id}`];
    if (!v) throw new GraphError(`gradients: node ${nd.id} (${nd.op}) was not re-emitted`);
    m.set(nd.id, v);
  }
  return m;
}
