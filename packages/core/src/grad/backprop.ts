import { GraphError, type Graph, type GraphBuilder, type Value } from '../graph/graph.js';
import type { Node } from '../graph/primitives.js';
import { formatShape } from '../tensor.js';
import { sameShape } from './shapes.js';
import { gradientTable, type VjpContext, type VjpRule } from './table.js';

/** Whether `graph` (or a loop body inside it) reads any of the parameters `wrt`. */
export function readsParams(graph: Graph, wrt: ReadonlySet<string>): boolean {
  return graph.nodes.some((n) => (n.op === 'param' && wrt.has(n.attrs.name)) || (n.op === 'loop' && readsParams(n.attrs.body, wrt)));
}

/**
 * Reverse accumulation over `graph`, whose nodes were already emitted into `g` (`values`, by
 * node id). `seeds` gives the cotangents of some nodes (the differentiated outputs). Parameter
 * cotangents go to `addParam`; the cotangents of the graph inputs named in `wantInputs` are
 * returned (`null` where none reached them). Only nodes that depend on a wanted parameter or
 * input are differentiated.
 */
export function backpropGraph(
  g: GraphBuilder,
  graph: Graph,
  values: ReadonlyMap<number, Value>,
  seeds: ReadonlyMap<number, Value>,
  wantInputs: ReadonlySet<string>,
  wrt: ReadonlySet<string>,
  addParam: (name: string, cotangent: Value) => void,
): Record<string, Value | null> {
  const requires = new Array<boolean>(graph.nodes.length).fill(false);
  for (const n of graph.nodes) {
    requires[n.id] =
      n.dtype === 'float32' &&
      ((n.op === 'param' && wrt.has(n.attrs.name)) ||
        (n.op === 'input' && wantInputs.has(n.attrs.name)) ||
        (n.op === 'loop' && readsParams(n.attrs.body, wrt)) ||
        n.inputs.some((i) => requires[i]));
  }
  const cts = new Map<number, Value>();
  const accumulate = (node: Node, ct: Value) => {
    if (!sameShape(ct.shape, node.shape)) {
      throw new GraphError(`gradients: the cotangent of node ${node.id} (${node.op}) is ${formatShape(ct.shape)}, the node is ${formatShape(node.shape)}`);
    }
    const known = cts.get(node.id);
    cts.set(node.id, known ? g.add(known, ct) : ct);
  };
  for (const [id, ct] of seeds) accumulate(graph.nodes[id]!, ct);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i]!;
    const dy = cts.get(node.id);
    if (!dy || !requires[node.id]) continue;
    if (node.op === 'param') {
      addParam(node.attrs.name, dy);
      continue;
    }
    if (node.inputs.length === 0 && node.op !== 'loop') continue;
    const wants = node.inputs.map((k) => requires[k]!);
    const ctx: VjpContext = { wants, wrt, addParam };
    const rule = gradientTable[node.op] as VjpRule<typeof node.op>;
    const ins = node.inputs.map((k) => values.get(k)!);
    const got = (rule as (...a: unknown[]) => (Value | null)[])(g, node, ins, values.get(node.id)!, dy, ctx);
    node.inputs.forEach((k, j) => {
      const ct = got[j];
      if (ct && wants[j]) accumulate(graph.nodes[k]!, ct);
    });
  }
  const out: Record<string, Value | null> = {};
  for (const name of wantInputs) {
    const id = graph.inputs[name];
    out[name] = id === undefined ? null : (cts.get(id) ?? null);
  }
  return out;
}
