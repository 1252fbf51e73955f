import type { Graph } from '../graph/graph.js';
import type { LoweringTable, Node } from '../graph/primitives.js';
import { formatShape, sizeOf, type Dim } from '../tensor.js';
import { erf } from './erf.js';
import * as k from './kernels.js';
import type { RefTensor } from './kernels.js';

export interface RefContext {
  readonly params: Readonly<Record<string, RefTensor>>;
  readonly inputs: Readonly<Record<string, RefTensor>>;
  readonly batch: number;
}

const EMPTY: RefTensor[] = [];
const unary = (f: (v: number) => number) => (_: Node, [x]: RefTensor[]) => k.map(x!, f);
const binary = (f: (a: number, b: number) => number) => (_: Node, xs: RefTensor[]) => k.zipWith(xs, f);

function resolve(shape: readonly Dim[], batch: number): number[] {
  return shape.map((d) => (d === 'N' ? batch : d));
}

/**
 * The reference lowering: one plain float64 function per primitive. Slow and
 * obviously right; every engine is compared with it.
 */
export const referenceLowering: LoweringTable<RefTensor, RefContext> = {
  input: (node, _, ctx) => {
    const t = ctx.inputs[node.attrs.name];
    if (!t) throw new Error(`reference: graph input '${node.attrs.name}' was not given`);
    return t;
  },
  param: (node, _, ctx) => {
    const t = ctx.params[node.attrs.name];
    if (!t) throw new Error(`reference: parameter '${node.attrs.name}' is missing`);
    return t;
  },
  constant: (node) => k.refTensor(node.attrs.values, node.shape as number[]),
  neg: unary((v) => -v),
  exp: unary(Math.exp),
  log: unary(Math.log),
  tanh: unary(Math.tanh),
  sigmoid: unary((v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)))),
  relu: unary((v) => (v > 0 ? v : 0)),
  sqrt: unary(Math.sqrt),
  abs: unary(Math.abs),
  erf: unary(erf),
  add: binary((a, b) => a + b),
  sub: binary((a, b) => a - b),
  mul: binary((a, b) => a * b),
  div: binary((a, b) => a / b),
  maximum: binary((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b))),
  less: binary((a, b) => (a < b ? 1 : 0)),
  greaterEqual: binary((a, b) => (a >= b ? 1 : 0)),
  where: (_, xs) => k.zipWith(xs, (c, a, b) => (c ? a : b)),
  sum: (node, [x]) => k.reduce(x!, node.attrs.axes, node.attrs.keepDims, 'sum'),
  mean: (node, [x]) => k.reduce(x!, node.attrs.axes, node.attrs.keepDims, 'mean'),
  max: (node, [x]) => k.reduce(x!, node.attrs.axes, node.attrs.keepDims, 'max'),
  matmul: (_, [a, b]) => k.matmul(a!, b!),
  conv2d: (node, [x, w]) => k.conv2d(x!, w!, node.attrs.pads),
  conv2dWeightGrad: (node, [x, dy]) => k.conv2dWeightGrad(x!, dy!, node.attrs.pads, node.attrs.kernel),
  reshape: (node, [x], ctx) => ({ data: x!.data, shape: resolve(node.attrs.shape, ctx.batch) }),
  transpose: (node, [x]) => k.transpose(x!, node.attrs.perm),
  slice: (node, [x]) => {
    const { axis, start, end } = node.attrs;
    return k.take(x!, axis, Array.from({ length: end - start }, (_, i) => start + i));
  },
  concat: (node, xs) => k.concat(xs, node.attrs.axis),
  gather: (node, [x]) => k.take(x!, node.attrs.axis, node.attrs.indices),
  cumsum: (node, [x]) => k.cumsum(x!, node.attrs.axis),
  logAbsDet: (_, [a]) => k.logAbsDet(a!),
  matrixInverse: (_, [a]) => k.matrixInverse(a!),
  loop: (node, [state, ...inv], ctx) => {
    let s = state!;
    const inputs: Record<string, RefTensor> = {};
    inv.forEach((v, i) => (inputs[`inv${i}`] = v));
    for (let i = 0; i < node.attrs.count; i++) {
      inputs.state = s;
      s = runGraph(node.attrs.body, { params: ctx.params, inputs, batch: ctx.batch }).state!;
    }
    return s;
  },
};

/** Evaluates every output of `graph` (nodes in order, values freed after their last use). */
export function runGraph(graph: Graph, ctx: RefContext): Record<string, RefTensor> {
  const values: (RefTensor | undefined)[] = new Array(graph.nodes.length);
  const lastUse = new Array<number>(graph.nodes.length).fill(-1);
  for (const node of graph.nodes) for (const i of node.inputs) lastUse[i] = node.id;
  const outputIds = new Set(Object.values(graph.outputs));
  for (const node of graph.nodes) {
    const ins = node.inputs.length === 0 ? EMPTY : node.inputs.map((i) => values[i]!);
    const lower = referenceLowering[node.op] as (n: Node, x: RefTensor[], c: RefContext) => RefTensor;
    const out = lower(node, ins, ctx);
    const expected = resolve(node.shape, ctx.batch);
    if (out.shape.length !== expected.length || out.shape.some((d, i) => d !== expected[i]) || out.data.length !== sizeOf(expected)) {
      throw new Error(`reference: ${node.op} (node ${node.id}) produced [${out.shape.join(', ')}], graph says ${formatShape(node.shape)}`);
    }
    values[node.id] = out;
    for (const i of node.inputs) if (lastUse[i] === node.id && !outputIds.has(i)) values[i] = undefined;
  }
  const result: Record<string, RefTensor> = {};
  for (const [name, id] of Object.entries(graph.outputs)) result[name] = values[id]!;
  return result;
}
