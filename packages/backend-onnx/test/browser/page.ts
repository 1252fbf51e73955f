/**
 * The browser side of browser.test.ts: bundled with the package's web entry (never the
 * Node binding), it exposes `window.bijective` for the test to drive through Playwright.
 */
import { LOSS_OUTPUTS, densityLossGraph, flowFromParams, type FlowSpec, type Graph } from '@bijective/core';
import { configureWeb, listEngines, ortGradients, ortRuntime, type OrtEngine } from '../../src/web.js';

configureWeb({ wasmPaths: '/ort/' });

async function fetchModel(name: string): Promise<Uint8Array> {
  const res = await fetch(`/models/${name}`);
  if (!res.ok) throw new Error(`GET /models/${name}: ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function run(engine: OrtEngine, x: number[], shape: number[]) {
  const rt = await ortRuntime({ logProb: await fetchModel('log_prob.onnx'), sample: await fetchModel('sample.onnx') }, { engine });
  try {
    const input = { data: Float32Array.from(x), shape };
    const logProb = Array.from(await rt.logProb(input));
    const { z } = await rt.encode(input);
    const decoded = Array.from((await rt.decode(z)).data);
    const sample = Array.from((await rt.sample({ n: 3, seed: 5, temperature: 0.8 })).data);
    return { logProb, z: Array.from(z.data), decoded, sample };
  } finally {
    await rt.dispose();
  }
}

interface Plain {
  data: number[];
  shape: number[];
}

/** Loss and gradients of the training objective (mean NLL of x): the gradient model on the engine. */
async function gradients(engine: OrtEngine, spec: FlowSpec, params: Record<string, Plain>, x: Plain, wrt: string[]) {
  const flow = flowFromParams(spec, Object.fromEntries(Object.entries(params).map(([k, p]) => [k, { data: Float32Array.from(p.data), shape: p.shape }])));
  const program = await (await ortGradients({ engine })).compile(densityLossGraph(flow), { loss: LOSS_OUTPUTS.loss, wrt, outputs: [LOSS_OUTPUTS.logProb] });
  try {
    const r = await program.run({ x: { data: Float32Array.from(x.data), shape: x.shape } }, Object.fromEntries(Object.entries(flow.params).map(([k, p]) => [k, p.data])));
    return { engine: program.engine, loss: r.loss, logProb: Array.from(r.outputs[LOSS_OUTPUTS.logProb]!), grads: Object.fromEntries(Object.entries(r.grads).map(([k, g]) => [k, Array.from(g)])) };
  } finally {
    await program.dispose();
  }
}

/** Loss and gradients of any graph with a scalar output `loss` (a primitive case's weighted sum). */
async function graphGradients(engine: OrtEngine, graph: Graph, inputs: Record<string, Plain>, params: Record<string, Plain>, wrt: string[]) {
  const f32 = (o: Record<string, Plain>) => Object.fromEntries(Object.entries(o).map(([k, p]) => [k, Float32Array.from(p.data)]));
  const program = await (await ortGradients({ engine })).compile(graph, { loss: 'loss', wrt });
  try {
    const r = await program.run(Object.fromEntries(Object.entries(inputs).map(([k, p]) => [k, { data: Float32Array.from(p.data), shape: p.shape }])), f32(params));
    return { loss: r.loss, grads: Object.fromEntries(Object.entries(r.grads).map(([k, g]) => [k, Array.from(g)])) };
  } finally {
    await program.dispose();
  }
}

(window as unknown as { bijective: unknown }).bijective = {
  run,
  gradients,
  graphGradients,
  listEngines,
  crossOriginIsolated: globalThis.crossOriginIsolated,
};
