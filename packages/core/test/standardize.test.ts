import { describe, expect, it } from 'vitest';
import { ConstantDimensionError, Rng, createFlow, fitStandardize, flowFromParams, standardizeStats, type FlowSpec, type LayerSpec, type ParamTensor } from '../src/index.js';
import { checkBijection, decode, encode, maxAbsDiff, randomFlow, rawLayer } from './helpers.js';

const couplings: LayerSpec[] = [
  { type: 'affineCoupling', mask: 'half', parity: 0, scale: 'tanhExp', conditioner: { type: 'mlp', hidden: [8] } },
  { type: 'affineCoupling', mask: 'half', parity: 1, scale: 'tanhExp', conditioner: { type: 'mlp', hidden: [8] } },
];
const spec = (layers: LayerSpec[], d = 3): FlowSpec => ({ version: 1, event: [d], layers });

/** Raw rows with very different per-column location and scale: column j ~ N(10^j, (3^j / 7)^2). */
function rawRows(n: number, d: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = 10 ** j + (3 ** j / 7) * rng.normal();
  return out;
}

describe('standardize', () => {
  it('fits the per-column mean and population std (two-pass float64)', () => {
    const s = standardizeStats([1, 10, 3, 30, 5, 20], 2);
    expect([...s.shift]).toEqual([3, 20]);
    // std of [1, 3, 5] = sqrt(8/3); of [10, 30, 20] = sqrt(200/3).
    expect(Math.abs(s.logScale[0]! - 0.5 * Math.log(8 / 3))).toBeLessThan(1e-15);
    expect(Math.abs(s.logScale[1]! - 0.5 * Math.log(200 / 3))).toBeLessThan(1e-15);
  });

  it('rejects a constant column, naming it', () => {
    expect(() => standardizeStats([1, 7, 2, 7, 3, 7], 2)).toThrow(ConstantDimensionError);
    expect(() => standardizeStats([1, 7, 2, 7, 3, 7], 2)).toThrow(/dimension 1 is constant \(7\)/);
    expect(() => standardizeStats([1, 2, 3], 2)).toThrow(/not whole rows of 2/);
  });

  it('standardises the training rows to zero mean and unit variance; inverts; exact log-det', () => {
    const flow = createFlow(spec([{ type: 'standardize' }]), { seed: 1 });
    const x = rawRows(200, 3, 4);
    const stats = fitStandardize(flow, x);
    // Stored as float32 parameters: the layer's outputs carry float32 rounding of shift/logScale.
    const { z, logDet } = encode(flow, { data: x, shape: [200, 3] });
    for (let j = 0; j < 3; j++) {
      let m = 0;
      let v = 0;
      for (let i = 0; i < 200; i++) m += z.data[i * 3 + j]! / 200;
      for (let i = 0; i < 200; i++) v += (z.data[i * 3 + j]! - m) ** 2 / 200;
      expect(Math.abs(m)).toBeLessThan(1e-5);
      expect(Math.abs(v - 1)).toBeLessThan(1e-5);
    }
    const f32 = Float32Array.from(stats.logScale);
    expect(Math.abs(logDet.data[0]! + (f32[0]! + f32[1]! + f32[2]!))).toBeLessThan(1e-12);
    expect(maxAbsDiff(decode(flow, z).x.data, x)).toBeLessThan(1e-10);
    const r = checkBijection(flow, { data: x.subarray(0, 12), shape: [4, 3] });
    expect(r.logDetRelErr).toBeLessThan(1e-6);
    expect(r.sampleLogDetErr).toBeLessThan(1e-12);
  });

  it('raw-data log-density = the standardised flow’s log-density of (x − μ)/σ + the exact log-det −Σ log σ', () => {
    // The same couplings with and without a leading standardisation: parameters layers.i+1 ↔ layers.i.
    const inner = randomFlow(spec(couplings), 3);
    const params: Record<string, ParamTensor> = {};
    for (const [k, p] of Object.entries(inner.params)) params[k.replace(/^layers\.(\d+)\./, (_, i: string) => `layers.${Number(i) + 1}.`)] = p;
    const d = 3;
    const train = rawRows(500, d, 5);
    const stats = standardizeStats(train, d);
    params['layers.0.shift'] = { data: Float32Array.from(stats.shift), shape: [d] };
    params['layers.0.logScale'] = { data: Float32Array.from(stats.logScale), shape: [d] };
    const outer = flowFromParams(spec([{ type: 'standardize' }, ...couplings]), params);

    const x = rawRows(16, d, 6);
    const mu = Float32Array.from(stats.shift);
    const logSigma = Float32Array.from(stats.logScale);
    const standardised = x.map((v, i) => (v - mu[i % d]!) / Math.exp(logSigma[i % d]!));
    const raw = encode(outer, { data: x, shape: [16, d] }).logProb.data;
    const std = encode(inner, { data: standardised, shape: [16, d] }).logProb.data;
    const logDet = -(logSigma[0]! + logSigma[1]! + logSigma[2]!);
    // The columns' scales span 1/7 .. 9/7, so the log-det is far from 0: a missing term would show.
    expect(Math.abs(logDet)).toBeGreaterThan(0.5);
    for (let i = 0; i < 16; i++) expect(Math.abs(raw[i]! - (std[i]! + logDet))).toBeLessThan(1e-10);
  });

  it('keeps its statistics out of training (trainable: false) and in the saved parameters', () => {
    const flow = createFlow(spec([{ type: 'standardize' }, ...couplings]));
    expect(flow.paramDecls['layers.0.shift']!.trainable).toBe(false);
    expect(flow.paramDecls['layers.0.logScale']!.trainable).toBe(false);
    expect(flow.params['layers.0.shift']!.shape).toEqual([3]);
    expect(() => fitStandardize(createFlow(spec(couplings)), rawRows(4, 3, 1))).toThrow(/first layer is 'affineCoupling', expected 'standardize'/);
  });

  it('works per value on images and rejects unknown fields', () => {
    const flow = createFlow({ version: 1, event: [1, 2, 2], layers: [{ type: 'standardize' }] });
    const x = rawRows(10, 4, 7);
    fitStandardize(flow, x);
    const { z } = encode(flow, { data: x, shape: [10, 1, 2, 2] });
    expect(maxAbsDiff(decode(flow, z).x.data, x)).toBeLessThan(1e-10);
    expect(() => createFlow(spec([rawLayer({ type: 'standardize', mean: 1 })]))).toThrow(/layers\[0\]/);
  });
});
