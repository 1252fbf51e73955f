import { runGraph, type Graph, type Node, type ParamTensor, type RefTensor } from '@bijective/core';

/**
 * Export-time constant folding of parameter-only values.
 *
 * A value that depends on no graph input (parameters and constants only) is the same for
 * every call, so the exporter evaluates it once, in float64 with core's reference
 * interpreter, and embeds the result as a float32 initializer. This is also how
 * `logAbsDet` and `matrixInverse` reach ONNX, which has no standard matrix inverse:
 * the builder guarantees their input is parameter-only.
 *
 * Identical parameter-only computations are merged first (hash-consing on op, attributes
 * and merged inputs), so an unrolled loop whose body masks the same weight at every step
 * embeds that masked weight once, not once per step.
 */
export class ParamFolder {
  /** `paramOnly[id]`: node `id` depends on no graph input. */
  readonly paramOnly: boolean[];
  /** The representative of each parameter-only node after merging duplicates. */
  private readonly canon: number[];
  private values: Map<number, RefTensor> | undefined;

  constructor(
    private readonly graph: Graph,
    private readonly params: Readonly<Record<string, ParamTensor>>,
  ) {
    const n = graph.nodes.length;
    this.paramOnly = new Array<boolean>(n);
    this.canon = new Array<number>(n);
    const seen = new Map<string, number[]>();
    for (const node of graph.nodes) {
      const po = node.op === 'param' || node.op === 'constant' || (node.op !== 'input' && node.inputs.every((i) => this.paramOnly[i]));
      this.paramOnly[node.id] = po;
      this.canon[node.id] = node.id;
      if (!po) continue;
      const key = structuralKey(node, this.canon);
      const candidates = seen.get(key);
      const same = candidates?.find((c) => node.op !== 'constant' || sameConstant(graph.nodes[c]!, node));
      if (same !== undefined) this.canon[node.id] = same;
      else if (candidates) candidates.push(node.id);
      else seen.set(key, [node.id]);
    }
  }

  /** The node whose value stands for `id` (itself unless a duplicate parameter-only computation). */
  representative(id: number): number {
    return this.canon[id]!;
  }

  /**
   * The float64 values of the parameter-only nodes `ids`, all evaluated in one pass of the
   * reference interpreter over the merged parameter-only subgraph.
   */
  evaluate(ids: readonly number[]): Map<number, RefTensor> {
    const want = [...new Set(ids.map((id) => this.representative(id)))];
    const missing = want.filter((id) => !this.values?.has(id));
    if (missing.length > 0) {
      for (const id of missing) {
        if (!this.paramOnly[id]) throw new Error(`ONNX export: node ${id} (${this.graph.nodes[id]!.op}) depends on a graph input and cannot be folded`);
      }
      const computed = evaluateSubgraph(this.graph, this.canon, missing, this.params);
      this.values ??= new Map();
      for (const [id, v] of computed) this.values.set(id, v);
    }
    const out = new Map<number, RefTensor>();
    for (const id of ids) out.set(id, this.values!.get(this.representative(id))!);
    return out;
  }
}

function structuralKey(node: Node, canon: readonly number[]): string {
  const ins = node.inputs.map((i) => canon[i]).join(',');
  switch (node.op) {
    case 'param':
      return `param:${node.attrs.name}`;
    case 'constant':
      return `constant:${node.shape.join('x')}:${hashValues(node.attrs.values)}`;
    case 'loop':
      return `loop#${node.id}`;
    default:
      return `${node.op}(${ins}):${JSON.stringify(node.attrs)}`;
  }
}

function sameConstant(a: Node, b: Node): boolean {
  if (a.op !== 'constant' || b.op !== 'constant') return false;
  const va = a.attrs.values;
  const vb = b.attrs.values;
  return va.length === vb.length && va.every((v, i) => Object.is(v, vb[i]));
}

/** FNV-1a over the float64 bytes of `values` (equality is checked on a hit). */
function hashValues(values: readonly number[]): string {
  const bytes = new Uint8Array(Float64Array.from(values).buffer);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return `${values.length}:${h.toString(16)}`;
}

/** Copies the merged parameter-only ancestors of `wanted` into a standalone graph and runs it. */
function evaluateSubgraph(graph: Graph, canon: readonly number[], wanted: readonly number[], params: Readonly<Record<string, ParamTensor>>): Map<number, RefTensor> {
  const needed = new Set<number>();
  const stack = [...wanted];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (needed.has(id)) continue;
    needed.add(id);
    for (const i of graph.nodes[id]!.inputs) stack.push(canon[i]!);
  }
  const order = [...needed].sort((a, b) => a - b);
  const newId = new Map<number, number>(order.map((id, k) => [id, k]));
  const nodes = order.map((id) => {
    const node = graph.nodes[id]!;
    return { ...node, id: newId.get(id)!, inputs: node.inputs.map((i) => newId.get(canon[i]!)!) } as Node;
  });
  const outputs = Object.fromEntries(wanted.map((id) => [`v${id}`, newId.get(id)!]));
  const refParams: Record<string, RefTensor> = {};
  // Every parameter of the graph (a folded loop's body reads its own).
  for (const name of Object.keys(graph.params)) {
    const p = params[name];
    if (!p) throw new Error(`ONNX export: parameter '${name}' has no value`);
    refParams[name] = { data: Float64Array.from(p.data), shape: p.shape };
  }
  const result = runGraph({ nodes, inputs: {}, outputs, params: graph.params }, { params: refParams, inputs: {}, batch: 1 });
  return new Map(wanted.map((id) => [id, result[`v${id}`]!]));
}
