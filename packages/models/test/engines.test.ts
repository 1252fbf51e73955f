import { Rng, runReference, traceFlow, type Flow, type FlowRuntime, type Tensor } from '@bijective/core';
import { FLOAT32_TOLERANCES, assertClose } from '@bijective/core/testing';
import { ortRuntime } from '@bijective/backend-onnx/node';
import { tfjsRuntime } from '@bijective/backend-tfjs';
import { afterAll, describe, expect, test } from 'vitest';
import { getPreset } from '../src/node.js';
import { inputFor, perturbedFlow } from './helpers.js';

/**
 * Every preset agrees across the float64 reference, tfjs-wasm and ort-node-cpu (the flow
 * exported to ONNX in memory and run by onnxruntime-node) on a small batch: logProb, the
 * latent z, and decode of the reference latent (which must give back x). Tolerances are the
 * core conformance suite's float32 ones.
 *
 * The 784-D autoregressive presets run only their parallel direction here (MAF density, IAF
 * sampling): the sequential one is 783 conditioner passes, seconds per call; its correctness
 * is covered at full width by the backends' own tests and here by the reference round trip of
 * presets.test.ts. (backend-onnx's default 'auto' export lowers their 783-pass loops with ONNX
 * `Loop`; unrolled, onnxruntime took over a minute to load them.)
 */
const engines: { name: string; open: (flow: Flow) => Promise<FlowRuntime> }[] = [
  { name: 'tfjs-wasm', open: (flow) => tfjsRuntime(flow, { engine: 'tfjs-wasm' }) },
  { name: 'ort-node-cpu', open: (flow) => ortRuntime(flow, { engine: 'ort-node-cpu' }) },
];

const tol = FLOAT32_TOLERANCES;
const cases: { preset: string; n: number; directions: ('density' | 'sample')[] }[] = [
  ...['realnvp-2d', 'maf-2d', 'iaf-2d', 'nice-2d'].map((preset) => ({ preset, n: 8, directions: ['density', 'sample'] as ('density' | 'sample')[] })),
  ...['nsf-2d', 'nsf-maf-2d'].map((preset) => ({ preset, n: 8, directions: ['density', 'sample'] as ('density' | 'sample')[] })),
  ...['nice-mnist', 'realnvp-fmnist', 'glow-fmnist-small'].map((preset) => ({ preset, n: 2, directions: ['density', 'sample'] as ('density' | 'sample')[] })),
  { preset: 'glow-fmnist', n: 1, directions: ['density', 'sample'] },
  { preset: 'maf-784', n: 2, directions: ['density'] },
  { preset: 'iaf-784', n: 2, directions: ['sample'] },
];

const open: FlowRuntime[] = [];
afterAll(async () => {
  for (const r of open) await r.dispose();
});

describe.each(cases)('$preset agrees across reference, tfjs-wasm, ort-node-cpu', ({ preset, n, directions }) => {
  let flow: Flow | undefined;
  let expected: Promise<Expected> | undefined;
  /** Built on first use (not at collection): the float64 reference's outputs, one pass per direction. */
  const setup = () => {
    flow ??= perturbedFlow(getPreset(preset).spec(), 0.01);
    expected ??= referenceOutputs(flow, n, directions);
    return { flow, expected };
  };

  test.each(engines)('$name', async ({ name, open: openEngine }) => {
    const { flow, expected } = setup();
    const want = await expected;
    const runtime = await openEngine(flow);
    open.push(runtime);
    if (want.logProb) {
      assertClose(`${preset} ${name} logProb`, await runtime.logProb(want.x), want.logProb, tol.logProb);
      assertClose(`${preset} ${name} z`, (await runtime.encode(want.x)).z.data, want.z!, tol.roundTrip);
    }
    if (want.zIn) {
      const decoded = await runtime.decode({ data: want.zIn, shape: [n, ...flow.spec.event] });
      expect(decoded.shape).toEqual([n, ...flow.spec.event]);
      assertClose(`${preset} ${name} decode`, decoded.data, want.decoded!, tol.roundTrip);
    }
  });
});

interface Expected {
  x: Tensor;
  logProb?: ArrayLike<number>;
  z?: ArrayLike<number>;
  /** The latent to decode and what decoding it must give. */
  zIn?: Float64Array;
  decoded?: ArrayLike<number>;
}

async function referenceOutputs(flow: Flow, n: number, directions: readonly ('density' | 'sample')[]): Promise<Expected> {
  const x = inputFor(flow.spec, n);
  const out: Expected = { x };
  const event = flow.spec.event;
  if (directions.includes('density')) {
    const d = runReference(flow, traceFlow(flow, 'density'), { x });
    [out.logProb, out.z] = [d.logProb!.data, d.z!.data];
  }
  if (directions.includes('sample')) {
    if (out.z) {
      // Decoding the reference latent of x must give x back.
      [out.zIn, out.decoded] = [Float64Array.from(out.z), x.data];
    } else {
      // IAF-784 (sequential density): a fixed latent, decoded by the reference.
      out.zIn = new Rng(5).normals(n * flow.dim);
      out.decoded = runReference(flow, traceFlow(flow, 'sample'), { z: { data: out.zIn, shape: [n, ...event] } }).x!.data;
    }
  }
  return out;
}
