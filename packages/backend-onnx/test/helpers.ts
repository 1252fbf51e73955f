import { Rng, createFlow, runGraph, sizeOf, type Flow, type FlowSpec, type Graph, type ParamTensor, type RefTensor, type Tensor } from '@bijective/core';
import { perturbParams } from '@bijective/core/testing';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { lowerGraph, type LoopLowering } from '../src/lower.js';
import { encodeModel } from '../src/model.js';
import type { OrtModule } from '../src/runtime.js';

export type TestEngine = 'ort-node-cpu' | 'ort-web-wasm';

export const ORT: Record<TestEngine, OrtModule> = {
  'ort-node-cpu': ortNode as unknown as OrtModule,
  'ort-web-wasm': ortWeb as unknown as OrtModule,
};

/** ONNX name of graph output `k` (a graph may name an output like an input; ONNX values need distinct names). */
const OUT = (k: string) => `out:${k}`;

/** Lowers a graph with every input under its own name, every output under `out:<name>`. */
export function graphModel(graph: Graph, params: Record<string, ParamTensor>, loops: LoopLowering = 'unroll'): Uint8Array {
  const inputs = Object.fromEntries(Object.keys(graph.inputs).map((k) => [k, k]));
  const outputs = Object.fromEntries(Object.keys(graph.outputs).map((k) => [k, OUT(k)]));
  return encodeModel(lowerGraph(graph, params, { inputs, outputs }, { loops }).graph, { producerVersion: 'test' });
}

/** Runs `graph` lowered to ONNX on `engine` with every graph optimisation on; bool outputs come back as 0/1. */
export async function runOnOrt(
  engine: TestEngine,
  graph: Graph,
  inputs: Record<string, Tensor>,
  params: Record<string, ParamTensor>,
  loops: LoopLowering = 'unroll',
): Promise<Record<string, Tensor>> {
  const ort = ORT[engine];
  const session = await ort.InferenceSession.create(graphModel(graph, params, loops), {
    graphOptimizationLevel: 'all',
    executionProviders: [engine === 'ort-node-cpu' ? 'cpu' : 'wasm'],
  });
  try {
    const feeds = Object.fromEntries(
      Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor('float32', Float32Array.from(t.data), t.shape)]),
    );
    const out = await session.run(feeds);
    const result: Record<string, Tensor> = {};
    for (const k of Object.keys(graph.outputs)) {
      const v = out[OUT(k)]!;
      const data = v.data as Float32Array | Uint8Array;
      result[k] = { data: Float64Array.from(data, Number), shape: [...v.dims] };
    }
    return result;
  } finally {
    await session.release();
  }
}

export function refParams(params: Record<string, ParamTensor>): Record<string, RefTensor> {
  return Object.fromEntries(Object.entries(params).map(([k, p]) => [k, { data: Float64Array.from(p.data), shape: p.shape }]));
}

export function runReferenceGraph(graph: Graph, inputs: Record<string, Tensor>, params: Record<string, ParamTensor>): Record<string, RefTensor> {
  const refInputs = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, { data: Float64Array.from(t.data), shape: t.shape }]));
  const batch = Object.values(inputs)[0]?.shape[0] ?? 1;
  return runGraph(graph, { params: refParams(params), inputs: refInputs, batch });
}

export function randomTensor(shape: number[], seed: number, std = 1): Tensor {
  return { data: new Rng(seed).normals(sizeOf(shape), std), shape };
}

export function randomParam(shape: number[], seed: number, std = 1): ParamTensor {
  return { data: Float32Array.from(new Rng(seed).normals(sizeOf(shape), std)), shape };
}

/** A flow with every trainable parameter perturbed by N(0, std²), so no layer is the identity. */
export function randomFlow(spec: FlowSpec | Record<string, unknown>, seed = 1, std = 0.1): Flow {
  return perturbParams(createFlow(spec, { seed }), std, seed + 1000);
}

/** max |a − b| / (atol + rtol·|b|): ≤ 1 means within tolerance. */
export function toleranceRatio(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): number {
  if (actual.length !== expected.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const r = Math.abs(actual[i]! - expected[i]!) / (atol + rtol * Math.abs(expected[i]!));
    worst = Math.max(worst, Number.isNaN(r) ? Infinity : r);
  }
  return worst;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
