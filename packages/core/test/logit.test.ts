import { describe, expect, it } from 'vitest';
import { Rng, createFlow, type FlowSpec, type Tensor } from '../src/index.js';
import { decode, encode, maxAbsDiff, numericalLogDet, specErrorOf } from './helpers.js';

const flowOf = (event: number[], alpha?: number) =>
  createFlow({ version: 1, event, layers: [{ type: 'logit', ...(alpha === undefined ? {} : { alpha }) }] } as FlowSpec);

/** Inputs in [lo, hi] ⊂ (0, 1). */
function unitInput(shape: number[], seed: number, lo = 0.02, hi = 0.98): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float64Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform()), shape };
}

describe('logit', () => {
  it.each([0.05, 0, 0.2])('inverts on (0, 1) to 1e-10 and its log-det matches the numerical Jacobian (alpha %f)', (alpha) => {
    const d = 16;
    const flow = flowOf([d], alpha);
    const x = unitInput([5, d], 3);
    const { z, logDet } = encode(flow, x);
    const back = decode(flow, z);
    expect(maxAbsDiff(back.x.data, x.data)).toBeLessThan(1e-10);
    // The sampling direction's log-det (from y, via log σ) equals the density direction's.
    expect(maxAbsDiff(back.logDet.data, logDet.data)).toBeLessThan(1e-10);
    const num = numericalLogDet(flow, Float64Array.from(x.data.subarray(0, d)), [d], 1e-6);
    expect(Math.abs(num - logDet.data[0]!) / Math.abs(num)).toBeLessThan(1e-6);
  });

  it('matches hand-computed values', () => {
    // alpha = 0.05, x = 0.5: s = 0.5, y = 0, log|dy/dx| = log 0.9 − 2 log 0.5 = log 3.6 per entry.
    // alpha = 0, x = 0.25: y = log(0.25 / 0.75) = −log 3, log|dy/dx| = −log 0.25 − log 0.75 = log(16/3).
    const a = encode(flowOf([3], 0.05), { data: new Float64Array([0.5, 0.5, 0.5]), shape: [1, 3] });
    expect(maxAbsDiff(a.z.data, [0, 0, 0])).toBeLessThan(1e-15);
    expect(Math.abs(a.logDet.data[0]! - 3 * Math.log(3.6))).toBeLessThan(1e-14);
    const b = encode(flowOf([2], 0), { data: new Float64Array([0.25, 0.75]), shape: [1, 2] });
    expect(maxAbsDiff(b.z.data, [-Math.log(3), Math.log(3)])).toBeLessThan(1e-15);
    expect(Math.abs(b.logDet.data[0]! - 2 * Math.log(16 / 3))).toBeLessThan(1e-14);
    // y beyond [logit α, logit(1 − α)] is outside the image of [0, 1]: x → (0 − α)/(1 − 2α) = −1/18
    // and (1 − α)/(1 − 2α) = 19/18 as y → ∓∞, with a finite log-det (stable log σ).
    const c = decode(flowOf([2], 0.05), { data: new Float64Array([-800, 800]), shape: [1, 2] });
    expect(maxAbsDiff(c.x.data, [-1 / 18, 19 / 18])).toBeLessThan(1e-15);
    expect(Number.isFinite(c.logDet.data[0]!)).toBe(true);
  });

  it('works elementwise on images', () => {
    const flow = flowOf([2, 3, 3], 0.05);
    const x = unitInput([2, 2, 3, 3], 5);
    const { z, logDet } = encode(flow, x);
    expect(maxAbsDiff(decode(flow, z).x.data, x.data)).toBeLessThan(1e-10);
    const num = numericalLogDet(flow, Float64Array.from(x.data.subarray(0, 18)), [2, 3, 3], 1e-6);
    expect(Math.abs(num - logDet.data[0]!) / Math.abs(num)).toBeLessThan(1e-6);
  });

  it('defaults alpha to 0.05 and rejects alpha outside [0, 0.5)', () => {
    expect(flowOf([2]).spec.layers[0]).toEqual({ type: 'logit', alpha: 0.05 });
    expect(specErrorOf(() => flowOf([2], 0.5)).path).toBe('spec.layers[0].alpha');
    expect(specErrorOf(() => flowOf([2], -0.1)).path).toBe('spec.layers[0].alpha');
  });
});
