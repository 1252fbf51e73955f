import * as tf from '@tensorflow/tfjs-core';
import { referenceLowering, type Graph, type Node, type NodeOf, type RefTensor } from '@bijective/core';

/**
 * `logAbsDet` and `matrixInverse` on a small parameter-only matrix W [C, C].
 *
 * TensorFlow.js has no determinant or inverse kernels, and W depends on parameters only,
 * so each call reads W's inputs back (a few C×C values), computes W in float64 with the
 * reference kernels, factorises it there (LU with partial pivoting), and feeds the results
 * in as constants wrapped in `tf.customGrad` so gradients still reach the parameters:
 *
 *   ∂ log|det W| / ∂W = W⁻ᵀ                      (Jacobi's formula)
 *   ∂L/∂W = −W⁻ᵀ (∂L/∂W⁻¹) W⁻ᵀ   for Y = W⁻¹      (from d(W W⁻¹) = 0)
 *
 * The read-back is asynchronous (`await tensor.data()`), so it works on every engine,
 * WebGPU included, and happens before the synchronous graph run (see {@link hostLinalg}).
 */
export interface HostLinalg {
  readonly n: number;
  /** log|det W| (for `logAbsDet` nodes). */
  readonly logAbsDet: number;
  /** W⁻¹, row-major float64. */
  readonly inverse: Float64Array;
}

export type LinalgNode = NodeOf<'logAbsDet'> | NodeOf<'matrixInverse'>;

const isLinalg = (n: Node): n is LinalgNode => n.op === 'logAbsDet' || n.op === 'matrixInverse';

/** Whether `graph` (or a loop body inside it) has a `logAbsDet` / `matrixInverse` node. */
export function hasLinalg(graph: Graph): boolean {
  return graph.nodes.some((n) => isLinalg(n) || (n.op === 'loop' && hasLinalg(n.attrs.body)));
}

/** Ids of the nodes `targets` depend on (themselves included). */
function ancestry(graph: Graph, targets: readonly number[]): Set<number> {
  const need = new Set<number>();
  const stack = [...targets];
  while (stack.length) {
    const id = stack.pop()!;
    if (need.has(id)) continue;
    need.add(id);
    stack.push(...graph.nodes[id]!.inputs);
  }
  return need;
}

function paramNames(graph: Graph, ids: Iterable<number>, out: Set<string>): Set<string> {
  for (const id of ids) {
    const n = graph.nodes[id]!;
    if (n.op === 'param') out.add(n.attrs.name);
    if (n.op === 'loop') paramNames(n.attrs.body, n.attrs.body.nodes.map((b) => b.id), out);
  }
  return out;
}

const EMPTY_INPUTS: Readonly<Record<string, RefTensor>> = {};

/**
 * Evaluates, in float64 on the host, every linear-algebra node of `graph` and of its loop
 * bodies: reads the parameters they depend on from `params` and runs their (parameter-only)
 * ancestry through the reference kernels.
 */
export async function hostLinalg(graph: Graph, params: Readonly<Record<string, tf.Tensor>>): Promise<Map<Node, HostLinalg>> {
  const out = new Map<Node, HostLinalg>();
  const cache = new Map<string, RefTensor>();
  const readParam = async (name: string): Promise<RefTensor> => {
    let t = cache.get(name);
    if (!t) {
      const p = params[name];
      if (!p) throw new Error(`tfjs: parameter '${name}' is missing (needed by logAbsDet/matrixInverse)`);
      t = { data: Float64Array.from(await p.data()), shape: p.shape };
      cache.set(name, t);
    }
    return t;
  };
  const visit = async (g: Graph): Promise<void> => {
    const targets = g.nodes.filter(isLinalg).map((n) => n.id);
    for (const n of g.nodes) if (n.op === 'loop') await visit(n.attrs.body);
    if (targets.length === 0) return;
    const need = ancestry(g, targets);
    const hostParams: Record<string, RefTensor> = {};
    for (const name of paramNames(g, need, new Set())) hostParams[name] = await readParam(name);
    const ctx = { params: hostParams, inputs: EMPTY_INPUTS, batch: 1 };
    const values: RefTensor[] = [];
    for (const node of g.nodes) {
      if (!need.has(node.id)) continue;
      if (node.op === 'input') {
        throw new Error(`tfjs: a logAbsDet/matrixInverse input depends on graph input '${node.attrs.name}'; it must be computed from parameters and constants only`);
      }
      const ins = node.inputs.map((i) => values[i]!);
      const lower = referenceLowering[node.op] as (n: Node, x: RefTensor[], c: typeof ctx) => RefTensor;
      values[node.id] = lower(node, ins, ctx);
      if (isLinalg(node)) {
        const a = ins[0]!;
        const inverse = node.op === 'matrixInverse' ? values[node.id]!.data : referenceLowering.matrixInverse(node as never, [a], ctx).data;
        const logAbsDet = node.op === 'logAbsDet' ? values[node.id]!.data[0]! : NaN;
        out.set(node, { n: a.shape[0]!, logAbsDet, inverse });
      }
    }
  };
  await visit(graph);
  return out;
}

function transposed(m: Float64Array, n: number): Float32Array {
  const t = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = m[i * n + j]!;
  return t;
}

/** log|det W| with gradient W⁻ᵀ. */
export function logAbsDetOp(w: tf.Tensor, host: HostLinalg): tf.Tensor {
  const op = tf.customGrad((x, save) => {
    const invT = tf.tensor2d(transposed(host.inverse, host.n), [host.n, host.n]);
    (save as tf.GradSaveFunc)([invT]);
    return {
      value: tf.scalar(host.logAbsDet),
      gradFunc: (dy, saved) => [tf.mul(dy as tf.Tensor, saved[0]!)],
    };
  });
  return op(w);
}

/** W⁻¹ with gradient −W⁻ᵀ G W⁻ᵀ. */
export function matrixInverseOp(w: tf.Tensor, host: HostLinalg): tf.Tensor {
  const op = tf.customGrad((x, save) => {
    const inv = tf.tensor2d(Float32Array.from(host.inverse), [host.n, host.n]);
    (save as tf.GradSaveFunc)([inv]);
    return {
      value: inv,
      gradFunc: (dy, saved) => {
        const s = saved[0]!;
        return [tf.neg(tf.matMul(tf.matMul(s, dy as tf.Tensor, true, false), s, false, true))];
      },
    };
  });
  return op(w);
}
