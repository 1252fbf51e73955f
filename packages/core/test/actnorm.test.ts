import { describe, expect, it } from 'vitest';
import {
  applyInitOutputs,
  createFlow,
  flowFromParams,
  initializeFromData,
  runReference,
  traceFlow,
  Rng,
  type Flow,
  type Tensor,
} from '../src/index.js';
import { channelStats, checkBijection, encode, flowSpec, randomFlow, randomInput } from './helpers.js';

const ROUND_TRIP = 1e-10;
const LOGDET_REL = 1e-6;
const SAME_POINT = 1e-10;

/** A batch whose channels have means 2c − 3 and stds 0.5 + c, far from normalised. */
function skewedBatch(n: number, event: number[], seed = 5): Tensor {
  const [c, ...rest] = event as [number, ...number[]];
  const inner = rest.reduce((a, b) => a * b, 1);
  const rng = new Rng(seed);
  const data = new Float64Array(n * c * inner);
  for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) for (let k = 0; k < inner; k++) data[(i * c + ch) * inner + k] = 2 * ch - 3 + (0.5 + ch) * rng.normal();
  return { data, shape: [n, ...event] };
}

const paramsOf = (flow: Flow) => Object.fromEntries(Object.entries(flow.params).map(([k, p]) => [k, Array.from(p.data)]));

describe('actNorm: bijection', () => {
  it.each([
    { event: [16], name: 'vector [16]' },
    { event: [4, 2, 2], name: 'image [4, 2, 2]' },
    { event: [1, 4, 4], name: 'image [1, 4, 4]' },
  ])('$name: inverts, log-det = H·W·Σ logScale matches the numerical Jacobian', ({ event }) => {
    const flow = randomFlow(flowSpec(event, [{ type: 'actNorm' }]), 4, 0.5);
    const r = checkBijection(flow, randomInput([3, ...event]));
    expect(r.roundTrip).toBeLessThan(ROUND_TRIP);
    expect(r.logDetRelErr).toBeLessThan(LOGDET_REL);
    expect(r.sampleLogDetErr).toBeLessThan(SAME_POINT);
    const pixels = event.length === 3 ? event[1]! * event[2]! : 1;
    const sumLogScale = Array.from(flow.params['layers.0.logScale']!.data).reduce((a, b) => a + b, 0);
    expect(r.logDet).toBeCloseTo(pixels * sumLogScale, 10);
  });
});

describe('actNorm: data-dependent initialisation', () => {
  it.each([
    { event: [6], name: 'vector [6]' },
    { event: [3, 4, 4], name: 'image [3, 4, 4]' },
  ])('$name: the init pass normalises the batch per channel and uses the values at once', ({ event }) => {
    const flow = createFlow(flowSpec(event, [{ type: 'actNorm' }]));
    const x = skewedBatch(64, event);
    const graph = traceFlow(flow, 'density', { dataInit: true });
    expect(Object.keys(graph.outputs).filter((k) => k.startsWith('init:')).sort()).toEqual(['init:layers.0.bias', 'init:layers.0.initialized', 'init:layers.0.logScale']);
    const out = runReference(flow, graph, { x });
    // In float64, within the pass: mean 0 up to rounding, std exactly s/(s + 1e-6) for the input's std s.
    const { mean, std } = channelStats(out.z!.data, out.z!.shape);
    const inputStats = channelStats(x.data, x.shape);
    for (const m of mean) expect(Math.abs(m)).toBeLessThan(1e-12);
    std.forEach((s, c) => expect(s).toBeCloseTo(inputStats.std[c]! / (inputStats.std[c]! + 1e-6), 12));
    for (const s of std) expect(Math.abs(s - 1)).toBeLessThan(1e-5);
    expect(Array.from(out['init:layers.0.bias']!.data)).toEqual(inputStats.mean.map((m) => expect.closeTo(-m, 12)));
    expect(Array.from(out['init:layers.0.initialized']!.data)).toEqual([1]);
  });

  it('initializeFromData writes the parameters; the float32 flow then normalises the batch', () => {
    const event = [3, 4, 4];
    const flow = createFlow(flowSpec(event, [{ type: 'actNorm' }]));
    const x = skewedBatch(64, event);
    expect(initializeFromData(flow, x)).toBe(true);
    expect(Array.from(flow.params['layers.0.initialized']!.data)).toEqual([1]);
    // Parameters are float32 now: errors of ~|mean|·2⁻²⁴ and ~|logScale|·2⁻²⁴ relative.
    const { mean, std } = channelStats(encode(flow, x).z.data, [64, ...event]);
    for (const m of mean) expect(Math.abs(m)).toBeLessThan(1e-5);
    for (const s of std) expect(Math.abs(s - 1)).toBeLessThan(1e-5);
  });

  it('later layers see normalised data in the same pass (actNorm → coupling → actNorm)', () => {
    const spec = flowSpec([8], [
      { type: 'actNorm' },
      { type: 'affineCoupling', mask: 'half', parity: 0, scale: 'tanhExp', conditioner: { type: 'mlp', hidden: [8], activation: 'tanh' } },
      { type: 'actNorm' },
    ]);
    const flow = randomFlow(spec, 7);
    for (const k of ['layers.0.initialized', 'layers.2.initialized']) expect(flow.params[k]!.data[0]).toBe(0);
    const x = skewedBatch(128, [8]);
    expect(initializeFromData(flow, x)).toBe(true);
    const { mean, std } = channelStats(encode(flow, x).z.data, [128, 8]);
    for (const m of mean) expect(Math.abs(m)).toBeLessThan(1e-5);
    for (const s of std) expect(Math.abs(s - 1)).toBeLessThan(1e-5);
  });

  it('never re-initialises: a second batch, or a loaded model, changes nothing', () => {
    const event = [4, 2, 2];
    const flow = createFlow(flowSpec(event, [{ type: 'actNorm' }, { type: 'invConv1x1', variant: 'lu' }, { type: 'actNorm' }]));
    expect(initializeFromData(flow, skewedBatch(32, event, 1))).toBe(true);
    const before = paramsOf(flow);
    expect(initializeFromData(flow, skewedBatch(32, event, 2))).toBe(false);
    expect(paramsOf(flow)).toEqual(before);
    const loaded = flowFromParams(flow.spec, flow.params);
    const graph = traceFlow(loaded, 'density', { dataInit: true });
    expect(Object.keys(graph.outputs).some((k) => k.startsWith('init:'))).toBe(false);
    expect(initializeFromData(loaded, skewedBatch(32, event, 3))).toBe(false);
    expect(paramsOf(loaded)).toEqual(before);
  });

  it('a flow without ActNorm needs no init', () => {
    const flow = createFlow(flowSpec([4], [{ type: 'invConv1x1' }]));
    const before = paramsOf(flow);
    expect(initializeFromData(flow, randomInput([4, 4]))).toBe(false);
    expect(paramsOf(flow)).toEqual(before);
  });
});

describe('applyInitOutputs', () => {
  it('writes init:* outputs, ignores the others, and checks names and sizes before writing any', () => {
    const flow = createFlow(flowSpec([3], [{ type: 'actNorm' }]));
    const written = applyInitOutputs(flow, {
      z: { data: [9, 9, 9] },
      'init:layers.0.bias': { data: [1, 2, 3] },
      'init:layers.0.initialized': { data: [1] },
    });
    expect(written.sort()).toEqual(['layers.0.bias', 'layers.0.initialized']);
    expect(Array.from(flow.params['layers.0.bias']!.data)).toEqual([1, 2, 3]);
    expect(Array.from(flow.params['layers.0.logScale']!.data)).toEqual([0, 0, 0]);
    expect(() => applyInitOutputs(flow, { 'init:layers.0.logScale': { data: [5, 5, 5] }, 'init:layers.9.bias': { data: [1] } })).toThrow(/layers\.9\.bias/);
    expect(() => applyInitOutputs(flow, { 'init:layers.0.logScale': { data: [1, 2] } })).toThrow(/\[3\]/);
    expect(() => applyInitOutputs(flow, { 'init:layers.0.logScale': { data: [1, NaN, 2] } })).toThrow(/NaN/);
    expect(Array.from(flow.params['layers.0.logScale']!.data)).toEqual([0, 0, 0]);
  });
});
