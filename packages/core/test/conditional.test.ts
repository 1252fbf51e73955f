import { describe, expect, it } from 'vitest';
import { InputError, Rng, createFlow, referenceRuntime, runReference, traceFlow, type Flow, type FlowSpec, type LayerSpec, type Tensor } from '../src/index.js';
import { perturbParams } from '../src/testing/index.js';
import { maxAbsDiff, numericalLogDet, sinhLine } from './helpers.js';

const K = 3;
const mlp = { type: 'mlp' as const, hidden: [8] };
const cnn = { type: 'cnn' as const, hidden: 4 };

/** One flow per conditioned layer family; each reads a context of K = 3. */
const cases: { name: string; event: number[]; layers: LayerSpec[]; base?: 'conditionalGaussian' }[] = [
  { name: 'additiveCoupling (mlp)', event: [2], layers: [{ type: 'additiveCoupling', mask: 'half', parity: 0, conditioner: mlp }, { type: 'additiveCoupling', mask: 'half', parity: 1, conditioner: mlp }] },
  { name: 'affineCoupling (mlp)', event: [2], layers: [{ type: 'affineCoupling', mask: 'half', parity: 0, scale: 'tanhExp', conditioner: mlp }, { type: 'affineCoupling', mask: 'half', parity: 1, scale: 'sigmoid', conditioner: mlp }] },
  { name: 'maf (MADE)', event: [2], layers: [{ type: 'maf', hidden: [8], order: 'natural' }, { type: 'permute', kind: 'reverse' }, { type: 'maf', hidden: [8], order: 'natural' }] },
  { name: 'iaf (MADE)', event: [2], layers: [{ type: 'iaf', hidden: [8], order: 'natural' }, { type: 'permute', kind: 'reverse' }, { type: 'iaf', hidden: [8], order: 'natural' }] },
  { name: 'split (conditional prior, vector)', event: [2], layers: [{ type: 'affineCoupling', mask: 'half', parity: 0, conditioner: mlp }, { type: 'split', prior: 'conditional' }] },
  { name: 'conditionalGaussian base', event: [2], layers: [{ type: 'affineCoupling', mask: 'half', parity: 0, conditioner: mlp }], base: 'conditionalGaussian' },
  { name: 'affineCoupling (cnn) + split (conditional prior, image)', event: [2, 2, 2], layers: [{ type: 'affineCoupling', mask: 'checkerboard', parity: 0, scale: 'sigmoid', conditioner: cnn }, { type: 'actNorm' }, { type: 'split', prior: 'conditional' }] },
];

function flowOf(c: (typeof cases)[number], seed = 1, std = 0.4): Flow {
  const spec: FlowSpec = { version: 1, event: c.event, layers: c.layers, context: [K], ...(c.base ? { base: c.base } : {}) };
  return perturbParams(createFlow(spec, { seed }), std, seed + 7);
}

const contexts = [
  [1, 0, 0],
  [-0.5, 2, 0.3],
];
const repeat = (c: number[], n: number): Tensor => ({ data: Float64Array.from({ length: n * K }, (_, i) => c[i % K]!), shape: [n, K] });

function run(flow: Flow, direction: 'density' | 'sample', input: Tensor, context: Tensor) {
  return runReference(flow, traceFlow(flow, direction), { [direction === 'density' ? 'x' : 'z']: input, context });
}

/** Central-difference log|det ∂z/∂x| at one example with the context held fixed. */
const conditionalLogDet = (flow: Flow, x: Float64Array, c: number[], eps = 1e-5): number => numericalLogDet(flow, x, flow.spec.event, eps, (n) => repeat(c, n));

describe('conditional flows: properties of every conditioned layer for fixed contexts', () => {
  it.each(cases)('$name: round trip, exact log-det and the context changes the density', (c) => {
    const flow = flowOf(c);
    const n = 6;
    const x = { data: new Rng(3).normals(n * flow.dim), shape: [n, ...c.event] };
    const logProbs: Float64Array[] = [];
    for (const ctx of contexts) {
      const context = repeat(ctx, n);
      const out = run(flow, 'density', x, context);
      const back = run(flow, 'sample', { data: out.z!.data, shape: [...out.z!.shape] }, context);
      expect(maxAbsDiff(back.x!.data, x.data)).toBeLessThan(1e-9);
      // The sampling direction's log-det at z equals the density direction's at x.
      expect(maxAbsDiff(back.logDet!.data, out.logDet!.data)).toBeLessThan(1e-9);
      const num = conditionalLogDet(flow, Float64Array.from(x.data.subarray(0, flow.dim)), ctx);
      expect(Math.abs(out.logDet!.data[0]! - num)).toBeLessThan(1e-6 * Math.max(1, Math.abs(num)));
      logProbs.push(out.logProb!.data);
    }
    // A context that is not wired in would leave log p(x | c) the same for both contexts.
    expect(maxAbsDiff(logProbs[0]!, logProbs[1]!)).toBeGreaterThan(1e-3);
  });

  it.each(cases.filter((c) => c.event.length === 1))('$name: the density integrates to 1 for each fixed context', (c) => {
    // As in density.test.ts: the plane by x = 2 sinh(t), |t| ≤ 6; parameters moved by N(0, 0.3²),
    // and by N(0, 0.1²) for the 3-layer MADE stacks, which at 0.3 grow features sharper than the
    // grid resolves (with or without a context: 1.036 at c = 0).
    const flow = flowOf(c, 2, c.layers[0]!.type === 'maf' || c.layers[0]!.type === 'iaf' ? 0.1 : 0.3);
    const q = sinhLine(2, 6, 301);
    const m = q.nodes.length;
    const points = new Float64Array(2 * m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) points.set([q.nodes[i]!, q.nodes[j]!], 2 * (i * m + j));
    for (const ctx of contexts) {
      const logProb = run(flow, 'density', { data: points, shape: [m * m, 2] }, repeat(ctx, m * m)).logProb!.data;
      let total = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) total += q.weights[i]! * q.weights[j]! * Math.exp(logProb[i * m + j]!);
      expect(Math.abs(total - 1)).toBeLessThan(1e-3);
    }
  });
});

describe('conditional flows: spec and runtime edge', () => {
  it('declares the context input and widens the first layer of each network by K', () => {
    const flow = flowOf(cases[1]!);
    expect(Object.keys(traceFlow(flow, 'density').inputs)).toEqual(['x', 'context']);
    expect(Object.keys(traceFlow(flow, 'sample').inputs)).toEqual(['z', 'context']);
    expect(flow.params['layers.0.conditioner.w0']!.shape).toEqual([1 + K, 8]);
    expect(flowOf(cases[2]!).params['layers.0.made.wContext']!.shape).toEqual([K, 8]);
    expect(flowOf(cases[6]!).params['layers.0.conditioner.w0']!.shape).toEqual([4, 2 + K, 3, 3]);
    expect(flowOf(cases[5]!).params['base.weight']!.shape).toEqual([K, 4]);
  });

  it('rejects a bad context field, a conditional base without a context, and bad contexts at the runtime edge', async () => {
    const layers = cases[0]!.layers;
    expect(() => createFlow({ version: 1, event: [2], layers, context: [2, 2] })).toThrow(/spec\.context.*expected \[K\]/);
    expect(() => createFlow({ version: 1, event: [2], layers, base: 'conditionalGaussian' })).toThrow(/spec\.base.*needs a context/);
    const rt = referenceRuntime(flowOf(cases[0]!));
    const x = { data: new Float64Array(4), shape: [2, 2] };
    await expect(rt.logProb(x)).rejects.toThrow(InputError);
    await expect(rt.logProb(x)).rejects.toThrow(/logProb: this flow is conditional on a context of shape \[3\]/);
    await expect(rt.logProb(x, { context: { data: new Float64Array(4), shape: [2, 2] } })).rejects.toThrow(/context has shape \[2, 2\], expected \[2, 3\]/);
    await expect(rt.logProb(x, { context: { data: Float64Array.from([0, NaN, 0]), shape: [3] } })).rejects.toThrow(/context value 1 is NaN/);
    await expect(referenceRuntime(createFlow({ version: 1, event: [2], layers })).logProb(x, { context: repeat([1, 0, 0], 2) })).rejects.toThrow(/not conditional/);
    // One context row for every example equals the repeated rows; a sample honours its context.
    const one = await rt.logProb(x, { context: { data: Float64Array.from([1, 0, 0]), shape: [3] } });
    expect(maxAbsDiff(one, await rt.logProb(x, { context: repeat([1, 0, 0], 2) }))).toBe(0);
    const a = await rt.sample({ n: 4, seed: 1, context: { data: Float64Array.from(contexts[0]!), shape: [3] } });
    const b = await rt.sample({ n: 4, seed: 1, context: { data: Float64Array.from(contexts[1]!), shape: [3] } });
    expect(maxAbsDiff(a.data, b.data)).toBeGreaterThan(1e-3);
  });
});
