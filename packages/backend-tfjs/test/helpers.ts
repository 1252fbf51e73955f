import { DENSITY_OUTPUTS, LOSS_OUTPUTS, createFlow, densityLossGraph, runGraph, Rng, sizeOf, type Flow, type FlowSpec, type Graph, type RefTensor, type Tensor } from '@bijective/core';
import { tfjsGradients } from '../src/index.js';

/** A flow with every trainable parameter perturbed by N(0, std²), so no layer is the identity. */
export function perturbedFlow(spec: FlowSpec, seed = 7, std = 0.2): Flow {
  const flow = createFlow(spec, { seed });
  const rng = new Rng(seed + 1);
  for (const [name, p] of Object.entries(flow.params)) {
    if (flow.paramDecls[name]!.trainable === false) continue;
    for (let i = 0; i < p.data.length; i++) p.data[i]! += std * rng.normal();
  }
  return flow;
}

/** A float32-representable batch: standard normal, or uniform in (0.02, 0.98) for `unit`. */
export function batch(event: number[], n: number, domain: 'real' | 'unit' = 'real', seed = 11): Tensor {
  const rng = new Rng(seed);
  const size = n * sizeOf(event);
  const data = new Float64Array(size);
  for (let i = 0; i < size; i++) data[i] = domain === 'unit' ? 0.02 + 0.96 * rng.uniform() : rng.normal();
  return { data: Float64Array.from(Float32Array.from(data)), shape: [n, ...event] };
}

/** tfjs loss (−mean log p) and gradients of every trainable parameter, on `engine` (the package's GradientEngine). */
export async function tfjsLossAndGrads(flow: Flow, x: Tensor, engine: string): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
  const gradients = await tfjsGradients(engine);
  const wrt = Object.keys(flow.params).filter((n) => flow.paramDecls[n]!.trainable !== false);
  const program = await gradients.compile(densityLossGraph(flow), { loss: LOSS_OUTPUTS.loss, wrt });
  try {
    const params = Object.fromEntries(Object.entries(flow.params).map(([n, p]) => [n, p.data]));
    const { loss, grads } = await program.run({ x: { data: Float32Array.from(x.data), shape: x.shape } }, params);
    return { loss, grads };
  } finally {
    await program.dispose();
  }
}

/** The flow's parameters as float64 reference tensors (copies, free to perturb). */
export function params64(flow: Flow): Record<string, { data: Float64Array; shape: number[] }> {
  return Object.fromEntries(Object.entries(flow.params).map(([k, p]) => [k, { data: Float64Array.from(p.data), shape: [...p.shape] }]));
}

/** −mean log p(x) on the float64 reference, with the given parameters. */
export function referenceLoss(graph: Graph, params: Record<string, RefTensor>, x: Tensor): number {
  const out = runGraph(graph, { params, inputs: { x: { data: Float64Array.from(x.data), shape: x.shape } }, batch: x.shape[0]! });
  const lp = out[DENSITY_OUTPUTS.logProb]!.data;
  let s = 0;
  for (const v of lp) s += v;
  return -s / lp.length;
}
