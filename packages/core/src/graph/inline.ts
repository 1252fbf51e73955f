import type { GraphBuilder} from './graph.js';
import { GraphError, type Graph, type Value } from './graph.js';
import type { NodeOf, PrimitiveName, UnaryPrimitive } from './primitives.js';

export interface InlineOptions {
  /** Renames the graph's parameters as they enter the builder (e.g. a frozen teacher's `teacher/` prefix). */
  readonly renameParam?: (name: string) => string;
}

type Replay = { readonly [K in PrimitiveName]: (g: GraphBuilder, node: NodeOf<K>, ins: Value[], opts: InlineOptions) => Value };

const unary = (op: UnaryPrimitive) => (g: GraphBuilder, _n: unknown, ins: Value[]) => g[op](ins[0]!);
const binary = (op: 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'less' | 'greaterEqual') => (g: GraphBuilder, _n: unknown, ins: Value[]) => g[op](ins[0]!, ins[1]!);

/** Every primitive re-emitted through the builder's checked methods (so shapes are checked again). */
const REPLAY: Replay = {
  input: (_g, n) => {
    throw new GraphError(`inline: graph input '${n.attrs.name}' is not bound`);
  },
  param: (g, n, _ins, o) => g.param(o.renameParam ? o.renameParam(n.attrs.name) : n.attrs.name, n.shape as number[]),
  constant: (g, n) => g.constant(n.attrs.values, n.shape as number[]),
  neg: unary('neg'),
  exp: unary('exp'),
  log: unary('log'),
  tanh: unary('tanh'),
  sigmoid: unary('sigmoid'),
  relu: unary('relu'),
  sqrt: unary('sqrt'),
  abs: unary('abs'),
  erf: unary('erf'),
  add: binary('add'),
  sub: binary('sub'),
  mul: binary('mul'),
  div: binary('div'),
  maximum: binary('maximum'),
  less: binary('less'),
  greaterEqual: binary('greaterEqual'),
  where: (g, _n, ins) => g.where(ins[0]!, ins[1]!, ins[2]!),
  sum: (g, n, ins) => g.sum(ins[0]!, n.attrs.axes, n.attrs.keepDims),
  mean: (g, n, ins) => g.mean(ins[0]!, n.attrs.axes, n.attrs.keepDims),
  max: (g, n, ins) => g.max(ins[0]!, n.attrs.axes, n.attrs.keepDims),
  matmul: (g, _n, ins) => g.matmul(ins[0]!, ins[1]!),
  conv2d: (g, n, ins) => g.conv2d(ins[0]!, ins[1]!, n.attrs.pads),
  conv2dWeightGrad: (g, n, ins) => g.conv2dWeightGrad(ins[0]!, ins[1]!, n.attrs.pads, n.attrs.kernel),
  reshape: (g, n, ins) => g.reshape(ins[0]!, n.attrs.shape),
  transpose: (g, n, ins) => g.transpose(ins[0]!, n.attrs.perm),
  slice: (g, n, ins) => g.slice(ins[0]!, n.attrs.axis, n.attrs.start, n.attrs.end),
  concat: (g, n, ins) => g.concat(ins, n.attrs.axis),
  gather: (g, n, ins) => g.gather(ins[0]!, n.attrs.axis, n.attrs.indices),
  cumsum: (g, n, ins) => g.cumsum(ins[0]!, n.attrs.axis),
  logAbsDet: (g, _n, ins) => g.logAbsDet(ins[0]!),
  matrixInverse: (g, _n, ins) => g.matrixInverse(ins[0]!),
  loop: (g, n, ins, o) => {
    const body = n.attrs.body;
    return g.loop(n.attrs.count, ins[0]!, ins.slice(1), (b, state, inv) => {
      const bound: Record<string, Value> = { state };
      inv.forEach((v, i) => (bound[`inv${i}`] = v));
      return inlineGraph(b, body, bound, o).state!;
    });
  },
};

/**
 * Emits `graph` into the builder `g`, with its inputs bound to the given values, and returns
 * its outputs by name: how graphs are composed (a student's sampling pass feeding a teacher's
 * density pass). Every node goes through the builder's checked methods again.
 */
export function inlineGraph(g: GraphBuilder, graph: Graph, inputs: Readonly<Record<string, Value>>, options: InlineOptions = {}): Record<string, Value> {
  for (const name of Object.keys(graph.inputs)) {
    if (!(name in inputs)) throw new GraphError(`inline: graph input '${name}' is not bound (bound: ${Object.keys(inputs).join(', ') || 'none'})`);
  }
  const byId = new Map<number, Value>();
  for (const [name, id] of Object.entries(graph.inputs)) byId.set(id, inputs[name]!);
  for (const node of graph.nodes) {
    if (byId.has(node.id)) continue;
    const ins = node.inputs.map((i) => byId.get(i)!);
    const emit = REPLAY[node.op] as (g: GraphBuilder, n: typeof node, ins: Value[], o: InlineOptions) => Value;
    byId.set(node.id, emit(g, node, ins, options));
  }
  return Object.fromEntries(Object.entries(graph.outputs).map(([k, id]) => [k, byId.get(id)!]));
}
