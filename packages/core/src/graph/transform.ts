import type { Graph } from './graph.js';
import type { Node } from './primitives.js';

/**
 * Rewrites `graph` with every `loop` inlined `count` times (the unrolled lowering of
 * sequential directions). Parameters stay shared; ids are renumbered.
 */
export function unrollLoops(graph: Graph): Graph {
  if (!graph.nodes.some((n) => n.op === 'loop')) return graph;
  const nodes: Node[] = [];
  const params = new Map<string, number>();
  const emit = (node: Node, inputs: number[]): number => {
    if (node.op === 'param') {
      const known = params.get(node.attrs.name);
      if (known !== undefined) return known;
    }
    const id = nodes.length;
    nodes.push({ ...node, id, inputs } as Node);
    if (node.op === 'param') params.set(node.attrs.name, id);
    return id;
  };
  const inline = (g: Graph, bound: Map<number, number>): Map<number, number> => {
    const remap = new Map<number, number>();
    for (const node of g.nodes) {
      const pre = bound.get(node.id);
      if (pre !== undefined) {
        remap.set(node.id, pre);
        continue;
      }
      const ins = node.inputs.map((i) => remap.get(i)!);
      if (node.op === 'loop') {
        let state = ins[0]!;
        const body = node.attrs.body;
        for (let i = 0; i < node.attrs.count; i++) {
          const b = new Map<number, number>([[body.inputs.state!, state]]);
          ins.slice(1).forEach((v, k) => b.set(body.inputs[`inv${k}`]!, v));
          state = inline(body, b).get(body.outputs.state!)!;
        }
        remap.set(node.id, state);
      } else remap.set(node.id, emit(node, ins));
    }
    return remap;
  };
  const remap = inline(graph, new Map());
  const pick = (m: Readonly<Record<string, number>>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, remap.get(v)!]));
  return { nodes, inputs: pick(graph.inputs), outputs: pick(graph.outputs), params: graph.params };
}
