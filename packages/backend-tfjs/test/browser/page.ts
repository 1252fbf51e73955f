/**
 * The browser side of the webgl/webgpu tests: bundled by esbuild, served on 127.0.0.1 and
 * driven by playwright. Takes graphs, flows and inputs as plain arrays (what
 * `page.evaluate` can carry), runs them with this package's browser entry point, and
 * hands the float32 results back; the comparison with the float64 reference runs in Node.
 */
import { LOSS_OUTPUTS, densityLossGraph, flowFromParams, type FlowSpec, type Graph, type ParamTensor, type Tensor } from '@bijective/core';
import { listEngines, runGraphTfjs, tfjsGradients, tfjsRuntime } from '../../src/index.js';

export interface Plain {
  data: number[];
  shape: number[];
}

const toTensor = (p: Plain): Tensor => ({ data: Float32Array.from(p.data), shape: p.shape });
const toParam = (p: Plain): ParamTensor => ({ data: Float32Array.from(p.data), shape: p.shape });
const plain = (t: { data: ArrayLike<number>; shape: number[] }): Plain => ({ data: Array.from(t.data), shape: t.shape });
const mapValues = <A, B>(o: Record<string, A>, f: (a: A) => B) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

const api = {
  listEngines,
  async runGraph(engine: string, graph: Graph, inputs: Record<string, Plain>, params: Record<string, Plain>): Promise<Record<string, Plain>> {
    const out = await runGraphTfjs(graph, mapValues(inputs, toTensor), mapValues(params, toParam), { engine });
    return mapValues(out, plain);
  },
  async flow(engine: string, spec: FlowSpec, params: Record<string, Plain>, x: Plain, sample: { n: number; temperature: number; seed: number }) {
    const rt = await tfjsRuntime(flowFromParams(spec, mapValues(params, toParam)), { engine });
    try {
      const input = toTensor(x);
      const logProb = Array.from(await rt.logProb(input));
      const enc = await rt.encode(input);
      const decoded = await rt.decode(enc.z);
      const s = await rt.sample(sample);
      return { engine: rt.engine, logProb, z: plain(enc.z), logDet: Array.from(enc.logDet), decoded: plain(decoded), sample: plain(s) };
    } finally {
      await rt.dispose();
    }
  },
  /** Loss and gradients of the training objective (mean NLL of x) on the engine's GradientEngine. */
  async gradients(engine: string, spec: FlowSpec, params: Record<string, Plain>, x: Plain, wrt: string[]) {
    const flow = flowFromParams(spec, mapValues(params, toParam));
    const program = await (await tfjsGradients(engine)).compile(densityLossGraph(flow), { loss: LOSS_OUTPUTS.loss, wrt, outputs: [LOSS_OUTPUTS.logProb] });
    try {
      const r = await program.run({ x: toTensor(x) }, mapValues(flow.params, (p) => p.data));
      return { engine: program.engine, loss: r.loss, logProb: Array.from(r.outputs[LOSS_OUTPUTS.logProb]!), grads: mapValues(r.grads, (g) => Array.from(g)) };
    } finally {
      await program.dispose();
    }
  },
};

export type BrowserApi = typeof api;
(globalThis as unknown as { bijective: BrowserApi }).bijective = api;
document.title = 'ready';
