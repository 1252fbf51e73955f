import { describe, expect, it } from 'vitest';
import {
  baseLogDensity,
  createFlow,
  inputDegrees,
  referenceRuntime,
  runReference,
  traceFlow,
  unrollLoops,
  type Flow,
  type FlowSpec,
  type Graph,
  type Tensor,
} from '../src/index.js';
import { decode, encode, maxAbsDiff, numericalLogDet, randomFlow, randomInput, specErrorOf } from './helpers.js';

const D = 16;
const configs = [
  { order: 'natural', hidden: [24] },
  { order: 'reverse', hidden: [16, 16], activation: 'tanh' },
  { order: 'random', seed: 3, hidden: [20, 12] },
  { order: 'random', seed: 11, hidden: [], logScaleClamp: 2 },
];
const cases = (['maf', 'iaf'] as const).flatMap((type) => configs.map((c) => ({ type, ...c })));

function single(layer: Record<string, unknown>, d = D): FlowSpec {
  return { version: 1, event: [d], layers: [{ type: 'maf', ...layer }] };
}

/** The graph of the sequential direction: MAF samples, IAF evaluates densities, by a loop. */
const sequentialGraph = (flow: Flow, type: 'maf' | 'iaf') => traceFlow(flow, type === 'maf' ? 'sample' : 'density');

function withLoopCount(graph: Graph, count: number): Graph {
  return { ...graph, nodes: graph.nodes.map((n) => (n.op === 'loop' ? { ...n, attrs: { ...n.attrs, count } } : n)) };
}

describe.each(cases)('$type, order $order, hidden $hidden', (c) => {
  const flow = randomFlow(single(c), 7);
  const x = randomInput([6, D], 8);

  it('decode(encode(x)) = x and encode(decode(z)) = z (float64, 1e-10)', async () => {
    const rt = referenceRuntime(flow);
    const { z, logDet } = await rt.encode(x);
    expect(maxAbsDiff((await rt.decode(z)).data, x.data)).toBeLessThan(1e-10);
    // A real transformation, not the identity.
    expect(maxAbsDiff(z.data, x.data)).toBeGreaterThan(0.1);
    expect(Math.abs(logDet[0]!)).toBeGreaterThan(0.05);
    const z2 = randomInput([6, D], 9);
    expect(maxAbsDiff((await rt.encode(await rt.decode(z2))).z.data, z2.data)).toBeLessThan(1e-10);
  });

  it('log|det J| matches the central-difference Jacobian (1e-6 relative)', () => {
    const { logDet } = encode(flow, x);
    const num = numericalLogDet(flow, Float64Array.from(x.data.subarray(0, D)), [D]);
    expect(Math.abs(num - logDet.data[0]!) / Math.abs(num)).toBeLessThan(1e-6);
  });

  it('the parallel and the sequential directions agree on logProb', () => {
    // From latents: the sample graph's logDet + log N(z) at the decoded x vs the density graph at x.
    const z = randomInput([6, D], 10);
    const dec = decode(flow, z);
    const base = baseLogDensity(z.data, 6);
    const lp = encode(flow, { data: dec.x.data, shape: [6, D] }).logProb.data;
    for (let i = 0; i < 6; i++) expect(Math.abs(base[i]! + dec.logDet.data[i]! - lp[i]!)).toBeLessThan(1e-9);
    // From data: the density graph's logDet vs the sample graph's at the encoded z.
    const enc = encode(flow, x);
    expect(maxAbsDiff(decode(flow, enc.z).logDet.data, enc.logDet.data)).toBeLessThan(1e-10);
  });

  it('runs the sequential direction as one loop of D − 1 steps; unrollLoops gives the same numbers', () => {
    const graph = sequentialGraph(flow, c.type);
    const loops = graph.nodes.filter((n) => n.op === 'loop');
    expect(loops.map((n) => n.op === 'loop' && n.attrs.count)).toEqual([D - 1]);
    const unrolled = unrollLoops(graph);
    expect(unrolled.nodes.some((n) => n.op === 'loop')).toBe(false);
    const input: Record<string, Tensor> = c.type === 'maf' ? { z: x } : { x };
    const a = runReference(flow, graph, input);
    const b = runReference(flow, unrolled, input);
    // The same primitives in the same order on the same float64 values: identical results.
    for (const out of Object.keys(graph.outputs)) expect(maxAbsDiff(a[out]!.data, b[out]!.data), out).toBe(0);
  });

  it('after k loop steps and the last pass, exactly the first k + 1 dimensions in the order are solved', () => {
    const graph = sequentialGraph(flow, c.type);
    const input: Record<string, Tensor> = c.type === 'maf' ? { z: x } : { x };
    const out = c.type === 'maf' ? 'x' : 'z';
    const exact = runReference(flow, graph, input)[out]!.data;
    const layer = flow.spec.layers[0]!;
    if (layer.type !== 'maf' && layer.type !== 'iaf') throw new Error(`layer 0 is '${layer.type}'`);
    const m = inputDegrees(layer, D);
    const errorOf = (partial: Float64Array, i: number) => Math.max(...Array.from({ length: 6 }, (_, n) => Math.abs(partial[n * D + i]! - exact[n * D + i]!)));
    for (const k of [1, 6, D - 2]) {
      const partial = runReference(flow, withLoopCount(graph, k), input)[out]!.data;
      for (let i = 0; i < D; i++) if (m[i]! <= k + 1) expect(errorOf(partial, i), `k=${k}, dim ${i} (degree ${m[i]})`).toBeLessThan(1e-12);
      // The later dimensions are not solved yet. (The iteration contracts, so after many steps
      // their error can be tiny: asserted where it is large, after one step.)
      if (k === 1) expect(Math.max(...m.map((deg, i) => (deg > 2 ? errorOf(partial, i) : 0)))).toBeGreaterThan(1e-6);
    }
  });
});

describe('MAF / IAF', () => {
  it('stacks with permutations invert, and the stack log-det matches the numerical Jacobian', () => {
    const flow = randomFlow({
      version: 1,
      event: [D],
      layers: [
        { type: 'maf', hidden: [24, 24] },
        { type: 'permute', kind: 'random', seed: 1 },
        // tanh here: a ReLU IAF read in the density direction can reach |z| ~ 1e10 with
        // these random weights (α̃ grows with z), a test of conditioning rather than of the layers.
        { type: 'iaf', hidden: [24], activation: 'tanh', order: 'random', seed: 2 },
        { type: 'permute', kind: 'reverse' },
        { type: 'maf', hidden: [20], activation: 'tanh', order: 'reverse' },
      ],
    }, 3);
    const x = randomInput([4, D], 5);
    const { z, logDet } = encode(flow, x);
    expect(maxAbsDiff(decode(flow, z).x.data, x.data)).toBeLessThan(1e-10);
    const num = numericalLogDet(flow, Float64Array.from(x.data.subarray(0, D)), [D]);
    expect(Math.abs(num - logDet.data[0]!) / Math.abs(num)).toBeLessThan(1e-6);
  });

  it('is the identity when fresh (zero-initialised heads)', () => {
    for (const type of ['maf', 'iaf']) {
      const flow = createFlow(single({ type }), { seed: 1 });
      const x = randomInput([3, D]);
      const { z, logDet } = encode(flow, x);
      expect(maxAbsDiff(z.data, x.data), type).toBe(0);
      expect(maxAbsDiff(logDet.data, [0, 0, 0]), type).toBe(0);
    }
  });

  it('soft-clamps the log-scale: α = c·tanh(α̃/c)', () => {
    for (const type of ['maf', 'iaf']) {
      const flow = createFlow(single({ type, hidden: [8], logScaleClamp: 3 }), { seed: 1 });
      const raw = Float32Array.from({ length: D }, (_, i) => (i % 2 === 0 ? 40 : -0.5));
      flow.params['layers.0.made.bLogScale']!.data.set(raw);
      const x = randomInput([2, D]);
      const { z, logDet } = encode(flow, x);
      const alpha = Array.from(raw, (v) => 3 * Math.tanh(v / 3));
      const expected = -alpha.reduce((a, b) => a + b, 0);
      expect(Math.abs(logDet.data[0]! - expected), type).toBeLessThan(1e-12);
      // With zero shift and weights, z = x · exp(−α) dimension by dimension.
      for (let i = 0; i < D; i++) expect(Math.abs(z.data[i]! - x.data[i]! * Math.exp(-alpha[i]!)), `${type} dim ${i}`).toBeLessThan(1e-12);
    }
  });

  it('handles D = 1 (no loop: a single affine map)', () => {
    for (const type of ['maf', 'iaf']) {
      const flow = randomFlow(single({ type, hidden: [4] }, 1), 2);
      const x = randomInput([5, 1]);
      const { z } = encode(flow, x);
      expect(traceFlow(flow, type === 'maf' ? 'sample' : 'density').nodes.some((n) => n.op === 'loop')).toBe(false);
      expect(maxAbsDiff(decode(flow, z).x.data, x.data)).toBeLessThan(1e-12);
    }
  });

  it('rejects image inputs and bad fields with the path in the spec', () => {
    for (const type of ['maf', 'iaf'] as const) {
      const img = specErrorOf(() => createFlow({ version: 1, event: [2, 4, 4], layers: [{ type }] }));
      expect(img.path).toBe('spec.layers[0].type');
      expect(img.message).toContain('[2, 4, 4]');
    }
    const spec = (layer: Record<string, unknown>) => () => createFlow({ version: 1, event: [4], layers: [{ type: 'permute' }, { type: 'maf', ...layer }] });
    expect(specErrorOf(spec({ order: 'random' })).path).toBe('spec.layers[1].seed');
    expect(specErrorOf(spec({ order: 'natural', seed: 3 })).path).toBe('spec.layers[1].seed');
    expect(specErrorOf(spec({ logScaleClamp: 0 })).path).toBe('spec.layers[1].logScaleClamp');
    expect(specErrorOf(spec({ hidden: [8, 0] })).path).toBe('spec.layers[1].hidden[1]');
    expect(specErrorOf(spec({ hiden: [8] })).path).toBe('spec.layers[1].hiden');
    expect(specErrorOf(spec({ order: 'sideways' })).path).toBe('spec.layers[1].order');
  });

  it('fills defaults into the spec, which re-parses to itself', () => {
    const flow = createFlow({ version: 1, event: [4], layers: [{ type: 'iaf' }, { type: 'maf', order: 'random', seed: 4 }] });
    expect(flow.spec.layers).toEqual([
      { type: 'iaf', hidden: [64, 64], activation: 'relu', order: 'natural', logScaleClamp: 5 },
      { type: 'maf', hidden: [64, 64], activation: 'relu', order: 'random', seed: 4, logScaleClamp: 5 },
    ]);
    expect(createFlow(flow.spec).spec).toEqual(flow.spec);
  });
});

