import {
  gradients,
  gradName,
  runGraph,
  unrollLoops,
  VERSION,
  type GradientEngine,
  type GradientOptions,
  type GradientProgram,
  type Graph,
  type Node,
  type RefTensor,
  type Tensor,
} from '@bijective/core';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-web';
import type { OrtEngine } from './engines.js';
import { lowerGraph } from './lower.js';
import { encodeModel } from './model.js';
import type { OrtModule } from './runtime.js';

/**
 * Training on ONNX Runtime: core's gradient graph ({@link gradients}) exported to ONNX with the
 * parameters as graph INPUTS, so one session serves every step.
 *
 * The exported flow graphs fold parameter-only values (`logAbsDet`, `matrixInverse`, LU-composed
 * and masked weights, and in the gradient graph their inverses and flipped kernels) into
 * initializers at export; with parameters changing every step that cannot be done once. Here
 * only what ONNX has no operator for is folded **per step**: the `logAbsDet` and
 * `matrixInverse` nodes (C×C log-determinants and inverses, parameter-only by construction) are
 * evaluated by core's float64 reference interpreter before each run and fed to the session as
 * inputs, rounded to float32 (computing them in-graph would mean an unrolled Gauss–Jordan per
 * matrix). Everything else, parameter-only weight work included, runs in the session.
 * Constant-only subgraphs are folded once at export. Loops are unrolled (the backward pass is
 * unrolled anyway).
 */
export interface GradientModel {
  /** The `.onnx` bytes: inputs are the graph inputs and {@link feeds}; outputs loss, kept outputs and gradients. */
  readonly bytes: Uint8Array;
  /** Graph input name → ONNX input name (batch data: `x`, `context`). */
  readonly dataInputs: Readonly<Record<string, string>>;
  /** Parameters fed as they are: ONNX input name → parameter name. */
  readonly paramInputs: Readonly<Record<string, string>>;
  /** Parameter-only values computed per step: ONNX input name → output name of {@link paramOnlyGraph}. */
  readonly computedInputs: Readonly<Record<string, string>>;
  /** The parameter-only part of the gradient graph (no graph inputs), evaluated in float64 before each run. */
  readonly paramOnlyGraph: Graph;
  /** ONNX output names: the loss, kept outputs by name, gradients by parameter name. */
  readonly outputs: { readonly loss: string; readonly kept: Readonly<Record<string, string>>; readonly grads: Readonly<Record<string, string>> };
}

/** The primitives ONNX has no operator for; parameter-only by construction, so evaluated on the host. */
const HOST_OPS: ReadonlySet<string> = new Set(['logAbsDet', 'matrixInverse']);

/**
 * Splits `grad` (no loops) into the part lowered to ONNX and the host part it reads: the
 * `logAbsDet` / `matrixInverse` nodes (ONNX has no operator for them) with their ancestors,
 * evaluated in float64 and fed as inputs. Every other node — batch-sized or parameter-only
 * (masked and LU-composed weights, flipped kernels, W⁻ᵀ's uses) — runs in the session, with
 * the parameters as inputs: evaluating all parameter-only nodes on the host measured 20–100
 * ms per step of glow-fmnist-small (289 values), a large share of the step.
 */
function split(grad: Graph) {
  for (const n of grad.nodes) if (n.op === 'loop') throw new Error('ORT gradients: loops must be unrolled before splitting the graph');
  const host = (id: number) => HOST_OPS.has(grad.nodes[id]!.op);
  const outIds = new Set(Object.values(grad.outputs));
  // Host values read by the session's part, or returned directly.
  const frontier = new Set<number>();
  for (const n of grad.nodes) if (!host(n.id)) for (const i of n.inputs) if (host(i)) frontier.add(i);
  for (const id of outIds) if (host(id)) frontier.add(id);
  // Parameters the session reads (a parameter only the host reads is not a session input).
  const sessionReads = new Set<number>(outIds);
  for (const n of grad.nodes) if (!host(n.id)) for (const i of n.inputs) sessionReads.add(i);

  const nodes: Node[] = [];
  const remap = new Map<number, number>();
  const inputs: Record<string, number> = {};
  const paramInputs: Record<string, string> = {};
  const computedInputs: Record<string, string> = {};
  const computedIds: number[] = [];
  const push = (n: Omit<Node, 'id'>): number => {
    const id = nodes.length;
    nodes.push({ ...n, id } as Node);
    return id;
  };
  // Node `n`'s value enters the session as the float32 input `name`.
  const feed = (name: string, n: Node) => {
    const inId = push({ op: 'input', inputs: [], attrs: { name }, shape: n.shape, dtype: 'float32' } as Omit<Node, 'id'>);
    inputs[name] = inId;
    remap.set(n.id, inId);
  };
  for (const n of grad.nodes) {
    if (host(n.id)) {
      if (!frontier.has(n.id)) continue;
      const name = `v${computedIds.length}`;
      computedInputs[name] = `v${n.id}`;
      computedIds.push(n.id);
      feed(name, n);
      continue;
    }
    if (n.op === 'param') {
      if (!sessionReads.has(n.id)) continue;
      const name = `p${Object.keys(paramInputs).length}`;
      paramInputs[name] = n.attrs.name;
      feed(name, n);
      continue;
    }
    const id = push({ ...n, inputs: n.inputs.map((i) => remap.get(i)!) } as Omit<Node, 'id'>);
    remap.set(n.id, id);
    if (n.op === 'input') inputs[n.attrs.name] = id;
  }
  const batchGraph: Graph = {
    nodes,
    inputs,
    outputs: Object.fromEntries(Object.entries(grad.outputs).map(([k, id]) => [k, remap.get(id)!])),
    params: {},
  };

  // The host values' ancestors (all parameter-only), as a standalone graph.
  const needed = new Set<number>();
  const stack = [...computedIds];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (needed.has(id)) continue;
    needed.add(id);
    stack.push(...grad.nodes[id]!.inputs);
  }
  const order = [...needed].sort((a, b) => a - b);
  const newId = new Map(order.map((id, k) => [id, k]));
  const paramOnlyGraph: Graph = {
    nodes: order.map((id) => {
      const n = grad.nodes[id]!;
      return { ...n, id: newId.get(id)!, inputs: n.inputs.map((i) => newId.get(i)!) } as Node;
    }),
    inputs: {},
    outputs: Object.fromEntries(computedIds.map((id) => [`v${id}`, newId.get(id)!])),
    params: grad.params,
  };
  return { batchGraph, paramInputs, computedInputs, paramOnlyGraph };
}

/** Exports the gradient graph of `graph` for `options` as one ONNX model whose parameters are inputs. */
export function exportGradientModel(graph: Graph, options: GradientOptions): GradientModel {
  const keep = options.outputs ?? [];
  const grad = unrollLoops(gradients(graph, { of: options.loss, wrt: options.wrt, keep }));
  const { batchGraph, paramInputs, computedInputs, paramOnlyGraph } = split(grad);
  const dataInputs = Object.fromEntries(Object.keys(graph.inputs).map((k) => [k, k]));
  const onnxInputs = Object.fromEntries(Object.keys(batchGraph.inputs).map((k) => [k, k]));
  const loss = 'loss';
  const kept = Object.fromEntries(keep.map((k, i) => [k, `out${i}`]));
  const grads = Object.fromEntries(options.wrt.map((p, i) => [p, `grad${i}`]));
  const io = {
    inputs: onnxInputs,
    outputs: {
      [options.loss]: loss,
      ...Object.fromEntries(keep.map((k) => [k, kept[k]!])),
      ...Object.fromEntries(options.wrt.map((p) => [gradName(p), grads[p]!])),
    },
  };
  const lowered = lowerGraph(batchGraph, {}, io, { loops: 'unroll', name: 'bijective_gradients', maskedSelect: true });
  const bytes = encodeModel(lowered.graph, {
    producerVersion: VERSION,
    docString: `Bijective gradient graph: d ${options.loss} / d θ for ${options.wrt.length} parameters; parameters and per-step parameter-only values are inputs.`,
  });
  return { bytes, dataInputs, paramInputs, computedInputs, paramOnlyGraph, outputs: { loss, kept, grads } };
}

const toF32 = (data: Float32Array | Float64Array): Float32Array => (data instanceof Float32Array ? data : Float32Array.from(data));

/** A float32 tensor as plain data (an ONNX Runtime tensor's contents, sliceable and sendable to a worker). */
export interface PlainTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/**
 * The feeds of one gradient-model run, as plain tensors: `batch` (the graph inputs, leading axis
 * the batch) and `shared` (the parameters, and the parameter-only values folded per step in
 * float64 on the host). Checks that every input and parameter is given with its size.
 */
export function gradientFeeds(
  engine: string,
  model: GradientModel,
  paramShapes: Readonly<Record<string, readonly (number | string)[]>>,
  inputs: Readonly<Record<string, Tensor>>,
  params: Readonly<Record<string, Float32Array>>,
): { batch: Record<string, PlainTensor>; shared: Record<string, PlainTensor> } {
  const batch: Record<string, PlainTensor> = {};
  for (const [gName, onnxName] of Object.entries(model.dataInputs)) {
    const t: Tensor | undefined = inputs[gName];
    if (!t) throw new Error(`${engine} gradients: input '${gName}' was not given; inputs: ${Object.keys(model.dataInputs).join(', ')}`);
    batch[onnxName] = { data: toF32(t.data), dims: t.shape };
  }
  const refParams: Record<string, RefTensor> = {};
  for (const [name, shape] of Object.entries(paramShapes)) {
    const p = params[name];
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    if (!p) throw new Error(`${engine} gradients: parameter '${name}' [${shape.join(', ')}] was not given`);
    if (p.length !== size) throw new Error(`${engine} gradients: parameter '${name}' has ${p.length} values, expected ${size} for [${shape.join(', ')}]`);
    refParams[name] = { data: p as unknown as Float64Array, shape: shape as number[] };
  }
  const shared: Record<string, PlainTensor> = {};
  for (const [onnxName, pName] of Object.entries(model.paramInputs)) shared[onnxName] = { data: params[pName]!, dims: paramShapes[pName] as number[] };
  if (Object.keys(model.computedInputs).length > 0) {
    const wide = Object.fromEntries(Object.entries(refParams).map(([k, v]) => [k, { data: Float64Array.from(v.data), shape: v.shape }]));
    const values = runGraph(model.paramOnlyGraph, { params: wide, inputs: {}, batch: 1 });
    for (const [onnxName, out] of Object.entries(model.computedInputs)) {
      const v = values[out]!;
      shared[onnxName] = { data: Float32Array.from(v.data), dims: v.shape };
    }
  }
  return { batch, shared };
}

/** Loss, kept outputs and gradients from a run's float32 outputs (by ONNX name). */
export function gradientResult(engine: string, model: GradientModel, out: Readonly<Record<string, { type: string; data: unknown } | undefined>>) {
  const data = (name: string) => {
    const t = out[name];
    if (!t || t.type !== 'float32') throw new Error(`${engine} gradients: ONNX Runtime returned no float32 output '${name}'`);
    return t.data as Float32Array;
  };
  return {
    loss: data(model.outputs.loss)[0]!,
    outputs: Object.fromEntries(Object.entries(model.outputs.kept).map(([k, n]) => [k, data(n)])),
    grads: Object.fromEntries(Object.entries(model.outputs.grads).map(([p, n]) => [p, data(n)])),
  };
}

/**
 * A {@link GradientEngine} on one ONNX Runtime engine: `compile` exports the gradient model and
 * opens one session; `run` folds the parameter-only values in float64, feeds batch and
 * parameters, and returns loss, kept outputs and gradients (float32, as ORT computes them).
 */
export function ortGradientEngine(ort: OrtModule, engine: OrtEngine, sessionOptions: InferenceSession.SessionOptions): GradientEngine {
  return {
    engine,
    async compile(graph, options): Promise<GradientProgram> {
      const model = exportGradientModel(graph, options);
      let session: InferenceSession | undefined;
      try {
        session = await ort.InferenceSession.create(model.bytes, sessionOptions);
      } catch (e) {
        throw new Error(`${engine}: ONNX Runtime could not load the gradient model: ${(e as Error).message}`);
      }
      return {
        engine,
        async run(inputs, params) {
          if (!session) throw new Error(`${engine} gradients: run after dispose`);
          const { batch, shared } = gradientFeeds(engine, model, graph.params, inputs, params);
          const feeds: Record<string, OrtTensor> = {};
          for (const [name, t] of [...Object.entries(batch), ...Object.entries(shared)]) feeds[name] = new ort.Tensor('float32', t.data, t.dims);
          return gradientResult(engine, model, await session.run(feeds));
        },
        async dispose() {
          await session?.release();
          session = undefined;
        },
      };
    },
  };
}
