import * as tf from '@tensorflow/tfjs-core';
import { formatShape, type Graph, type Node, type NodeOf } from '@bijective/core';
import { hasLinalg, hostLinalg, type HostLinalg } from './linalg.js';
import { lowerChannelsLast, nchwOf, type Slot } from './layout.js';
import { tfjsLowering, type TfContext } from './lower.js';

export interface RunOptions {
  /**
   * Free each intermediate right after its last use (inference: lower peak memory).
   * Leave off while a gradient tape records (the tape's tidy scope frees them instead).
   */
  release?: boolean;
}

/** Values computed on the host before a run (see {@link GraphProgram.prepare}). */
export type Prepared = ReadonlyMap<Node, HostLinalg>;

const NOTHING: Prepared = new Map();

/**
 * A core graph ready to run on the current tfjs backend: constants and gather indices are
 * uploaded once and kept until {@link dispose}. A run is synchronous (so it can sit inside
 * `tf.tidy` / `tf.variableGrads`); what must be read back from the device first (the
 * parameter-only matrices of `logAbsDet` / `matrixInverse`) is done by the async
 * {@link prepare}.
 */
export class GraphProgram {
  private readonly constants = new Map<Node, tf.Tensor>();
  private readonly needsHost: boolean;

  constructor(readonly graph: Graph) {
    this.needsHost = hasLinalg(graph);
  }

  /** Host-side values this graph needs for the given parameters (float64 LU of small matrices). */
  async prepare(params: Readonly<Record<string, tf.Tensor>>): Promise<Prepared> {
    return this.needsHost ? hostLinalg(this.graph, params) : NOTHING;
  }

  /**
   * Runs the graph: `inputs` by graph input name, `params` by parameter name. Returns every
   * graph output (tensors the caller owns; wrap in `tf.tidy` or dispose them).
   */
  run(inputs: Readonly<Record<string, tf.Tensor>>, params: Readonly<Record<string, tf.Tensor>>, prepared: Prepared = NOTHING, options: RunOptions = {}): Record<string, tf.Tensor> {
    for (const [name, id] of Object.entries(this.graph.inputs)) {
      const t = inputs[name];
      if (!t) throw new Error(`tfjs: graph input '${name}' was not given`);
      const want = this.graph.nodes[id]!.shape;
      const ok = t.rank === want.length && want.every((d, i) => d === 'N' || d === t.shape[i]);
      if (!ok) throw new Error(`tfjs: graph input '${name}' has shape ${formatShape(t.shape)}, the graph expects ${formatShape(want)}`);
    }
    return this.execute(this.graph, inputs, params, prepared, options.release ?? false);
  }

  private constant(node: NodeOf<'constant'>): tf.Tensor {
    let t = this.constants.get(node);
    if (!t) {
      t = tf.keep(tf.tensor(node.attrs.values, node.shape as number[], 'float32'));
      this.constants.set(node, t);
    }
    return t;
  }

  private indices(node: NodeOf<'gather'>): tf.Tensor {
    let t = this.constants.get(node);
    if (!t) {
      t = tf.keep(tf.tensor1d(node.attrs.indices, 'int32'));
      this.constants.set(node, t);
    }
    return t;
  }

  private execute(
    graph: Graph,
    inputs: Readonly<Record<string, tf.Tensor>>,
    params: Readonly<Record<string, tf.Tensor>>,
    prepared: Prepared,
    release: boolean,
  ): Record<string, tf.Tensor> {
    const ctx: TfContext = {
      input: (name) => inputs[name]!,
      param: (name) => {
        const p = params[name];
        if (!p) throw new Error(`tfjs: parameter '${name}' is missing`);
        return p;
      },
      constant: (node) => this.constant(node),
      indices: (node) => this.indices(node),
      host: (node) => {
        const h = prepared.get(node);
        if (!h) throw new Error(`tfjs: ${node.op} (node ${node.id}) was not prepared; call prepare(params) before run`);
        return h;
      },
      loop: (node, state, invariants) => this.loop(node, state, invariants, params, prepared, release),
    };
    const slots: (Slot | undefined)[] = new Array(graph.nodes.length);
    // Tensors this run does not own: graph inputs, parameters, cached constants.
    const borrowed = new Set<tf.Tensor>();
    const lastUse = new Array<number>(graph.nodes.length).fill(-1);
    if (release) for (const node of graph.nodes) for (const i of node.inputs) lastUse[i] = node.id;
    const outputIds = new Set(Object.values(graph.outputs));
    for (const node of graph.nodes) {
      const ins = node.inputs.map((i) => slots[i]!);
      let slot = lowerChannelsLast(node, ins);
      if (!slot) {
        const args = ins.map(nchwOf);
        const lower = tfjsLowering[node.op] as (n: Node, x: tf.Tensor[], c: TfContext) => tf.Tensor;
        let out = lower(node, args, ctx);
        if (node.inputs.length === 0) borrowed.add(out);
        else if (args.includes(out)) out = tf.clone(out);
        slot = { nchw: out };
      }
      slots[node.id] = slot;
      if (release) {
        for (const i of node.inputs) {
          const s = slots[i];
          if (lastUse[i] === node.id && !outputIds.has(i) && s) {
            for (const t of [s.nchw, s.nhwc]) if (t && !borrowed.has(t)) t.dispose();
            slots[i] = undefined;
          }
        }
      }
    }
    const result: Record<string, tf.Tensor> = {};
    for (const [name, id] of Object.entries(graph.outputs)) {
      const slot = slots[id]!;
      const v = nchwOf(slot);
      // An output that is an input, parameter or constant is handed out as a copy the caller may dispose.
      result[name] = borrowed.has(v) ? tf.clone(v) : v;
      if (release && slot.nhwc) {
        slot.nhwc.dispose();
        slot.nhwc = undefined;
      }
    }
    return result;
  }

  private loop(
    node: NodeOf<'loop'>,
    state: tf.Tensor,
    invariants: readonly tf.Tensor[],
    params: Readonly<Record<string, tf.Tensor>>,
    prepared: Prepared,
    release: boolean,
  ): tf.Tensor {
    const body = node.attrs.body;
    const bodyInputs: Record<string, tf.Tensor> = {};
    invariants.forEach((v, i) => (bodyInputs[`inv${i}`] = v));
    let s = state;
    for (let i = 0; i < node.attrs.count; i++) {
      bodyInputs.state = s;
      const next = this.execute(body, bodyInputs, params, prepared, release).state!;
      if (release && s !== state) s.dispose();
      s = next;
    }
    return s === state ? tf.clone(s) : s;
  }

  /** Frees the cached constants. */
  dispose(): void {
    for (const t of this.constants.values()) t.dispose();
    this.constants.clear();
  }
}
