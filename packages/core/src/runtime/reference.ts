import type { Flow } from '../flow/flow.js';
import { DENSITY_OUTPUTS, SAMPLE_OUTPUTS, traceFlow } from '../flow/trace.js';
import type { Graph } from '../graph/graph.js';
import { runGraph } from '../reference/interpreter.js';
import type { RefTensor } from '../reference/kernels.js';
import type { Tensor } from '../tensor.js';
import { CONTEXT_INPUT } from '../flow/context.js';
import { guardRuntime } from './guard.js';
import type { FlowRuntime } from './types.js';

/** Parameters of a flow as float64 reference tensors. */
export function referenceParams(flow: Flow): Record<string, RefTensor> {
  const out: Record<string, RefTensor> = {};
  for (const [k, p] of Object.entries(flow.params)) out[k] = { data: Float64Array.from(p.data), shape: p.shape };
  return out;
}

function toRef(t: Tensor): RefTensor {
  return { data: t.data instanceof Float64Array ? t.data : Float64Array.from(t.data), shape: t.shape };
}

/** Runs a traced graph of `flow` on the reference interpreter. */
export function runReference(flow: Flow, graph: Graph, inputs: Record<string, Tensor>): Record<string, RefTensor> {
  const refInputs: Record<string, RefTensor> = {};
  let batch = 1;
  for (const [k, t] of Object.entries(inputs)) {
    refInputs[k] = toRef(t);
    batch = t.shape[0]!;
  }
  return runGraph(graph, { params: referenceParams(flow), inputs: refInputs, batch });
}

/**
 * The oracle: the flow's graphs run by the plain-TypeScript float64 interpreter.
 * Parameters are read at each call, so training updates show up. The edge checks (input and
 * context shapes, noise for `sample`, use after dispose) are {@link guardRuntime}'s.
 */
export function referenceRuntime(flow: Flow): FlowRuntime {
  let density: Graph | undefined;
  let sample: Graph | undefined;
  const densityGraph = () => (density ??= traceFlow(flow, 'density'));
  const sampleGraph = () => (sample ??= traceFlow(flow, 'sample'));
  const toTensor = (t: RefTensor): Tensor => ({ data: t.data, shape: [...t.shape] });
  /** The graph inputs: `name` → `t`, and a conditional flow's context (`[N, K]`, checked by the guard). */
  const inputs = (name: string, t: Tensor, context: Tensor | undefined): Record<string, Tensor> =>
    context ? { [name]: t, [CONTEXT_INPUT]: context } : { [name]: t };
  const decode = async (z: Tensor, context: Tensor | undefined) => toTensor(runReference(flow, sampleGraph(), inputs('z', z, context))[SAMPLE_OUTPUTS.x]!);
  return guardRuntime(
    {
      engine: 'reference',
      async logProb(x, options) {
        return runReference(flow, densityGraph(), inputs('x', x, options?.context))[DENSITY_OUTPUTS.logProb]!.data;
      },
      async encode(x, options) {
        const out = runReference(flow, densityGraph(), inputs('x', x, options?.context));
        return { z: toTensor(out[DENSITY_OUTPUTS.z]!), logDet: out[DENSITY_OUTPUTS.logDet]!.data };
      },
      decode: (z, options) => decode(z, options?.context),
      async dispose() {},
    },
    flow.spec,
  );
}
