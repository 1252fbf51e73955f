import { describe, expect, it } from 'vitest';
import { createFlow, initializeFromData, latentPieces, type LayerSpec, type SplitSpec } from '../src/index.js';
import { checkBijection, decode, encode, flowSpec, randomFlow, randomInput, rawLayer, specErrorOf } from './helpers.js';

const ROUND_TRIP = 1e-10;
const LOGDET_REL = 1e-6;
const SAME_POINT = 1e-10;

const iota = (n: number) => Float64Array.from({ length: n }, (_, i) => i);

describe('squeeze', () => {
  it('is the 2×2 space-to-depth y[4c + 2a + b, i, j] = x[c, 2i + a, 2j + b], exactly inverted', () => {
    const [c, h, w] = [3, 4, 6];
    const flow = createFlow(flowSpec([c, h, w], [{ type: 'squeeze' }]));
    expect(flow.layers[0]!.outShape).toEqual([12, 2, 3]);
    const x = { data: iota(2 * c * h * w), shape: [2, c, h, w] };
    const { z, logDet } = encode(flow, x);
    // z has the event shape, laid out as the squeezed [12, 2, 3].
    expect(z.shape).toEqual([2, c, h, w]);
    for (let n = 0; n < 2; n++) {
      for (let ch = 0; ch < c; ch++) {
        for (let a = 0; a < 2; a++) {
          for (let b = 0; b < 2; b++) {
            for (let i = 0; i < h / 2; i++) {
              for (let j = 0; j < w / 2; j++) {
                const yk = ((n * 4 * c + 4 * ch + 2 * a + b) * (h / 2) + i) * (w / 2) + j;
                const xk = ((n * c + ch) * h + 2 * i + a) * w + 2 * j + b;
                expect(z.data[yk]).toBe(x.data[xk]);
              }
            }
          }
        }
      }
    }
    expect(Array.from(logDet.data)).toEqual([0, 0]);
    expect(Array.from(decode(flow, z).x.data)).toEqual(Array.from(x.data));
  });

  it('rejects odd sizes and vectors, naming the path', () => {
    const odd = specErrorOf(() => createFlow(flowSpec([2, 3, 4], [{ type: 'squeeze' }])));
    expect(odd.path).toBe('spec.layers[0].type');
    expect(odd.message).toContain('[2, 3, 4]');
    expect(specErrorOf(() => createFlow(flowSpec([2, 4, 4], [{ type: 'squeeze' }, { type: 'squeeze' }, { type: 'squeeze' }]))).path).toBe('spec.layers[2].type');
    expect(specErrorOf(() => createFlow(flowSpec([16], [{ type: 'squeeze' }]))).path).toBe('spec.layers[0].type');
  });
});

describe('split', () => {
  it.each<{ event: number[]; prior: SplitSpec['prior'] }>([
    { event: [16], prior: 'conditional' },
    { event: [4, 2, 2], prior: 'conditional' },
    { event: [5, 2, 2], prior: 'conditional' },
  ])('$prior prior on $event: inverts, log-det −Σ log σ matches the numerical Jacobian', ({ event, prior }) => {
    const flow = randomFlow(flowSpec(event, [{ type: 'split', prior }]), 17, 0.4);
    const r = checkBijection(flow, randomInput([3, ...event]));
    expect(r.roundTrip).toBeLessThan(ROUND_TRIP);
    expect(r.logDetRelErr).toBeLessThan(LOGDET_REL);
    expect(r.sampleLogDetErr).toBeLessThan(SAME_POINT);
    expect(r.zShape).toEqual([3, ...event]);
    expect(Math.abs(r.logDet)).toBeGreaterThan(0.05);
  });

  it.each([[16], [5, 2, 2]])('normal prior on %j: z is the factored part then the kept part, log-det 0', (...event) => {
    const flow = createFlow(flowSpec(event, [{ type: 'split', prior: 'normal' }]));
    const c = event[0]!;
    const kept = Math.floor(c / 2);
    const inner = event.slice(1).reduce((a, b) => a * b, 1);
    const x = randomInput([2, ...event]);
    const { z, logDet } = encode(flow, x);
    expect(latentPieces(flow)).toEqual([[c - kept, ...event.slice(1)], [kept, ...event.slice(1)]]);
    const d = c * inner;
    for (let n = 0; n < 2; n++) {
      // Piece order: the factored channels [kept, C), then the kept channels [0, kept).
      const order = [...Array.from({ length: (c - kept) * inner }, (_, i) => kept * inner + i), ...Array.from({ length: kept * inner }, (_, i) => i)];
      order.forEach((src, i) => expect(z.data[n * d + i]).toBe(x.data[n * d + src]));
    }
    expect(Array.from(logDet.data)).toEqual([0, 0]);
    expect(Array.from(decode(flow, z).x.data)).toEqual(Array.from(x.data));
  });

  it('the conditional prior starts as the standard normal (zero-initialised), so it equals the normal prior', () => {
    const x = randomInput([2, 4, 2, 2]);
    const a = encode(createFlow(flowSpec([4, 2, 2], [{ type: 'split', prior: 'conditional' }])), x);
    const b = encode(createFlow(flowSpec([4, 2, 2], [{ type: 'split', prior: 'normal' }])), x);
    expect(Array.from(a.z.data)).toEqual(Array.from(b.z.data));
    expect(Array.from(a.logProb.data)).toEqual(Array.from(b.logProb.data));
  });

  it('logScaleClamp c: log σ = c·tanh(ĥ/c), exactly, inverts and matches the numerical Jacobian', () => {
    const c = 2;
    const event = [4, 2, 2];
    const clamped = randomFlow(flowSpec(event, [{ type: 'split', prior: 'conditional', logScaleClamp: c }]), 17, 0.4);
    const r = checkBijection(clamped, randomInput([3, ...event]));
    expect(r.roundTrip).toBeLessThan(ROUND_TRIP);
    expect(r.logDetRelErr).toBeLessThan(LOGDET_REL);
    // Zero weights and a log σ bias of −20: unclamped σ = e^−20, clamped σ = e^(2·tanh(−10)) ≈ e^−2.
    for (const [clamp, logStd] of [[undefined, -20], [c, c * Math.tanh(-20 / c)]] as const) {
      const flow = createFlow(flowSpec(event, [{ type: 'split', prior: 'conditional', ...(clamp !== undefined ? { logScaleClamp: clamp } : {}) }]));
      flow.params['layers.0.bias']!.data.set([0, 0, -20, -20]); // (μ, log σ) for the 2 factored channels
      const x = randomInput([1, ...event]);
      const { z, logDet } = encode(flow, x);
      // The factored channels come first in z: ε = z₂ · e^(−log σ); log|det| = −4·2·log σ.
      for (let i = 0; i < 8; i++) expect(Math.abs(z.data[i]! / x.data[8 + i]! / Math.exp(-logStd) - 1)).toBeLessThan(1e-12);
      expect(logDet.data[0]).toBeCloseTo(-8 * logStd, 9);
    }
    expect(specErrorOf(() => createFlow(flowSpec(event, [rawLayer({ type: 'split', prior: 'normal', logScaleClamp: 5 })]))).path).toBe('spec.layers[0].logScaleClamp');
    expect(specErrorOf(() => createFlow(flowSpec(event, [rawLayer({ type: 'split', logScaleClamp: 0 })]))).path).toBe('spec.layers[0].logScaleClamp');
  });

  it('rejects a single channel, naming the path', () => {
    expect(specErrorOf(() => createFlow(flowSpec([1, 4, 4], [{ type: 'split' }]))).path).toBe('spec.layers[0].type');
    expect(specErrorOf(() => createFlow(flowSpec([4, 4, 4], [rawLayer({ type: 'split', prior: 'laplace' })]))).path).toBe('spec.layers[0].prior');
  });
});

describe('a multi-scale image flow', () => {
  const coupling = (mask: 'checkerboard' | 'channel', parity: 0 | 1, scale: 'tanhExp' | 'sigmoid'): LayerSpec => ({ type: 'affineCoupling', mask, parity, scale, conditioner: { type: 'cnn', hidden: 8 } });
  // [2, 4, 4] → squeeze [8, 2, 2] → couplings → split → [4, 2, 2] → squeeze [16, 1, 1] → couplings.
  const spec = flowSpec([2, 4, 4], [
    { type: 'squeeze' },
    { type: 'actNorm' },
    { type: 'invConv1x1', variant: 'lu' },
    coupling('checkerboard', 0, 'sigmoid'),
    coupling('channel', 1, 'tanhExp'),
    { type: 'split', prior: 'conditional' },
    { type: 'squeeze' },
    { type: 'invConv1x1', variant: 'plain' },
    coupling('channel', 0, 'sigmoid'),
    coupling('channel', 1, 'tanhExp'),
  ]);

  // Perturbations of std 0.1: with 0.3 on all ten layers the conditional prior's exp(−log σ)
  // reaches 1e27 and any float64 round trip loses ~1e-9, which would say nothing about the layers.
  it('round-trips, its z has the event shape, and its log-det matches the numerical Jacobian', () => {
    const flow = randomFlow(spec, 19, 0.1);
    expect(flow.layers.map((l) => l.outShape)).toEqual([[8, 2, 2], [8, 2, 2], [8, 2, 2], [8, 2, 2], [8, 2, 2], [4, 2, 2], [16, 1, 1], [16, 1, 1], [16, 1, 1], [16, 1, 1]]);
    const r = checkBijection(flow, randomInput([3, 2, 4, 4]));
    expect(r.zShape).toEqual([3, 2, 4, 4]);
    expect(r.roundTrip).toBeLessThan(ROUND_TRIP);
    expect(r.logDetRelErr).toBeLessThan(LOGDET_REL);
    expect(r.sampleLogDetErr).toBeLessThan(SAME_POINT);
    expect(Math.abs(r.logDet)).toBeGreaterThan(0.5);
  });

  it('initialises from data and still round-trips', () => {
    const flow = randomFlow(spec, 20, 0.1);
    const x = randomInput([16, 2, 4, 4], 9, 2);
    expect(initializeFromData(flow, x)).toBe(true);
    expect(flow.params['layers.1.initialized']!.data[0]).toBe(1);
    const { z } = encode(flow, x);
    expect(Math.max(...Array.from(decode(flow, z).x.data, (v, i) => Math.abs(v - x.data[i]!)))).toBeLessThan(ROUND_TRIP);
  });
});
