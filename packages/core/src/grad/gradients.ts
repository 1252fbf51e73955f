import { GraphBuilder, GraphError, type Graph, type Value } from '../graph/graph.js';
import { formatShape } from '../tensor.js';
import { backpropGraph } from './backprop.js';
import { sameShape, zeros } from './shapes.js';
import { allValues } from './table.js';

export interface GradientsOptions {
  /** The scalar output (`[]` or `[1]`) to differentiate. */
  readonly of: string;
  /** Parameters to differentiate with respect to. */
  readonly wrt: readonly string[];
  /** Further outputs of the graph to keep in the result (forward values). */
  readonly keep?: readonly string[];
  /** Graph inputs to differentiate with respect to too (outputs `gradInput/<name>`). */
  readonly wrtInputs?: readonly string[];
}

/** The output name of d `of` / d `param` in a gradient graph. */
export const gradName = (param: string): string => `grad/${param}`;

/** The output name of d `of` / d `input` in a gradient graph. */
export const gradInputName = (input: string): string => `gradInput/${input}`;

/**
 * Reverse-mode differentiation of a graph into a graph: the result has the same inputs and
 * parameters, and outputs `of`, the kept outputs, and `grad/<param>` (shape of the parameter)
 * for each parameter in `wrt`. The forward graph is re-emitted (every node checked again),
 * then each node's cotangent is built from {@link gradientTable}, in reverse order; only the
 * nodes on a path from a `wrt` parameter are differentiated. The result uses only the closed
 * primitive set, so every engine that runs graphs runs it.
 */
export function gradients(graph: Graph, options: GradientsOptions): Graph {
  const { of, wrt, keep = [], wrtInputs = [] } = options;
  const lossId = graph.outputs[of];
  if (lossId === undefined) throw new GraphError(`gradients: no output '${of}' to differentiate; outputs: ${Object.keys(graph.outputs).join(', ')}`);
  const lossNode = graph.nodes[lossId]!;
  if (!(lossNode.shape.length === 0 || (lossNode.shape.length === 1 && lossNode.shape[0] === 1)) || lossNode.dtype !== 'float32') {
    throw new GraphError(`gradients: output '${of}' is ${formatShape(lossNode.shape)} — expected a float32 scalar ([] or [1])`);
  }
  for (const p of wrt) {
    if (!(p in graph.params)) throw new GraphError(`gradients: no parameter '${p}'; parameters: ${Object.keys(graph.params).join(', ') || 'none'}`);
  }
  for (const k of wrtInputs) {
    if (!(k in graph.inputs)) throw new GraphError(`gradients: no input '${k}'; inputs: ${Object.keys(graph.inputs).join(', ') || 'none'}`);
  }
  for (const k of keep) {
    if (!(k in graph.outputs)) throw new GraphError(`gradients: no output '${k}' to keep; outputs: ${Object.keys(graph.outputs).join(', ')}`);
    if (k === of || k.startsWith('grad/') || k.startsWith('gradInput/')) throw new GraphError(`gradients: output '${k}' clashes with the loss or a gradient output`);
  }

  const g = new GraphBuilder();
  const bound: Record<string, Value> = {};
  for (const [name, id] of Object.entries(graph.inputs)) bound[name] = g.input(name, graph.nodes[id]!.shape);
  for (const [name, shape] of Object.entries(graph.params)) g.param(name, shape);
  const values = allValues(g, graph, bound);

  const sink = new Map<string, Value>();
  const wrtSet = new Set(wrt);
  const seed = g.constant([1], lossNode.shape as number[]);
  const inputCts = backpropGraph(g, graph, values, new Map([[lossId, seed]]), new Set(wrtInputs), wrtSet, (name, ct) => {
    const known = sink.get(name);
    sink.set(name, known ? g.add(known, ct) : ct);
  });

  g.output(of, values.get(lossId)!);
  for (const k of keep) g.output(k, values.get(graph.outputs[k]!)!);
  for (const p of wrt) {
    const shape = graph.params[p]! as number[];
    const ct = sink.get(p) ?? g.constant(new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0), shape);
    if (!sameShape(ct.shape, shape)) throw new GraphError(`gradients: the cotangent of '${p}' is ${formatShape(ct.shape)}, the parameter is ${formatShape(shape)}`);
    g.output(gradName(p), ct);
  }
  for (const k of wrtInputs) {
    const x = bound[k]!;
    g.output(gradInputName(k), inputCts[k] ?? zeros(g, x.shape, x));
  }
  return g.build();
}
