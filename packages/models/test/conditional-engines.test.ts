import { describe, expect, it } from 'vitest';
import { Rng, createFlow, type Flow, type FlowSpec, type Tensor } from '@bijective/core';
import { perturbParams } from '@bijective/core/testing';
import { openRuntime } from '../src/engines.js';

/** Conditional flows of each conditioned family, K = 3. */
const specs: FlowSpec[] = [
  {
    version: 1,
    event: [4],
    context: [3],
    base: 'conditionalGaussian',
    layers: [
      { type: 'standardize' },
      { type: 'affineCoupling', mask: 'half', parity: 0, scale: 'tanhExp', conditioner: { type: 'mlp', hidden: [16] } },
      { type: 'additiveCoupling', mask: 'alternating', parity: 1, conditioner: { type: 'mlp', hidden: [16] } },
      { type: 'maf', hidden: [16], order: 'natural' },
      { type: 'permute', kind: 'reverse' },
      { type: 'iaf', hidden: [16], order: 'reverse' },
    ],
    name: 'cond-vector',
  },
  {
    version: 1,
    event: [1, 4, 4],
    context: [3],
    layers: [
      { type: 'squeeze' },
      { type: 'actNorm' },
      { type: 'invConv1x1', variant: 'lu' },
      { type: 'affineCoupling', mask: 'channel', parity: 0, scale: 'sigmoid', conditioner: { type: 'cnn', hidden: 8 } },
      { type: 'split', prior: 'conditional' },
      { type: 'affineCoupling', mask: 'checkerboard', parity: 1, scale: 'sigmoid', conditioner: { type: 'cnn', hidden: 8 } },
    ],
    name: 'cond-image',
  },
];

const flowOf = (spec: FlowSpec): Flow => perturbParams(createFlow(spec, { seed: 5 }), 0.2, 6);
const tensor = (n: number, shape: number[], seed: number): Tensor => {
  const size = shape.reduce((a, b) => a * b, 1);
  return { data: Float64Array.from(Float32Array.from(new Rng(seed).normals(n * size))), shape: [n, ...shape] };
};
const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return m;
};

describe('conditional flows agree across engines (reference float64, tfjs-wasm, ort-node-cpu)', () => {
  it.each(specs)('$name: logProb, encode, decode and sample with a context', async (spec) => {
    const flow = flowOf(spec);
    const n = 5;
    const x = tensor(n, spec.event, 1);
    const context = tensor(n, [3], 2);
    const ref = await openRuntime(flow, 'reference');
    const refLogProb = await ref.logProb(x, { context });
    const refEnc = await ref.encode(x, { context });
    const refSample = await ref.sample({ n, seed: 3, context });
    // A different context gives a different density: the engines are compared where it matters.
    const other = await ref.logProb(x, { context: tensor(n, [3], 9) });
    expect(maxRel(refLogProb, other)).toBeGreaterThan(1e-3);
    for (const engine of ['tfjs-wasm', 'ort-node-cpu']) {
      const rt = await openRuntime(flow, engine);
      try {
        // Float32 engines against float64: relative 1e-4 (|log p| ~ 10, a few hundred float32 ops deep).
        expect(maxRel(await rt.logProb(x, { context }), refLogProb), engine).toBeLessThan(1e-4);
        const enc = await rt.encode(x, { context });
        expect(maxRel(enc.z.data, refEnc.z.data), engine).toBeLessThan(1e-4);
        expect(maxRel((await rt.decode(refEnc.z, { context })).data, x.data), engine).toBeLessThan(1e-4);
        expect(maxRel((await rt.sample({ n, seed: 3, context })).data, refSample.data), engine).toBeLessThan(1e-4);
        await expect(rt.logProb(x), engine).rejects.toThrow(/conditional on a context of shape \[3\]/);
      } finally {
        await rt.dispose();
      }
    }
  }, 120_000);
});
