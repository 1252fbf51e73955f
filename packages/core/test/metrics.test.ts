import { describe, expect, it } from 'vitest';
import { Rng, bitsPerDim, dequantize, natsPerDim } from '../src/index.js';

describe('bitsPerDim / natsPerDim', () => {
  it('matches hand-computed cases', () => {
    // A uniform density on [0, 1)^D (NLL 0) is 8 bits per 8-bit dimension: log 256 / log 2.
    expect(bitsPerDim(0, 3072)).toBeCloseTo(8, 13);
    // Each extra nat per dimension is 1/ln 2 = 1.442695… bits: NLL = D·ln 2 gives 9 bits.
    expect(bitsPerDim(784 * Math.LN2, 784)).toBeCloseTo(9, 13);
    expect(bitsPerDim(-3 * 10 * Math.LN2, 10)).toBeCloseTo(5, 13);
    // MNIST-sized: 5000 nats over 784 dims: 784 · 0.693147… = 543.42739; 5000 / 543.42739 = 9.2008612;
    // plus 8 = 17.2008612 bits/dim.
    expect(bitsPerDim(5000, 784)).toBeCloseTo(17.2008612, 6);
    // Unscaled data (bins 1): nats / ln 2 per dimension; 4 bins: + 2 bits.
    expect(bitsPerDim(20 * Math.LN2, 10, { bins: 1 })).toBeCloseTo(2, 13);
    expect(bitsPerDim(20 * Math.LN2, 10, { bins: 4 })).toBeCloseTo(4, 13);
    expect(natsPerDim(6, 3)).toBe(2);
  });

  it('rejects bad arguments', () => {
    expect(() => bitsPerDim(Number.NaN, 4)).toThrow(/nllNats/);
    expect(() => bitsPerDim(1, 0)).toThrow(/dims must be a positive integer, got 0/);
    expect(() => bitsPerDim(1, 4, { bins: 0 })).toThrow(/bins/);
    expect(() => natsPerDim(1, 2.5)).toThrow(/dims/);
  });
});

describe('dequantize', () => {
  it('is (x + u) / 256 with u from the given stream', () => {
    const values = new Uint8Array([0, 255, 128, 7, 7]);
    const out = dequantize(values, new Rng(42));
    const u = new Rng(42);
    for (let i = 0; i < values.length; i++) {
      expect(out[i]).toBe((values[i]! + u.uniform()) / 256);
      // Each value lands in its own bin [x/256, (x+1)/256).
      expect(Math.floor(out[i]! * 256)).toBe(values[i]);
    }
    expect(out[0]).toBeGreaterThanOrEqual(0);
    expect(out[1]).toBeLessThan(1);
    // Same stream, same result; the two 7s get different noise.
    expect(dequantize(values, new Rng(42))).toEqual(out);
    expect(out[3]).not.toBe(out[4]);
  });

  it('has uniform noise: mean offset 1/2, variance 1/12 (in bins)', () => {
    const n = 20000;
    const out = dequantize(new Array<number>(n).fill(100), new Rng(1));
    let s = 0;
    let s2 = 0;
    for (const v of out) {
      const u = v * 256 - 100;
      s += u;
      s2 += u * u;
    }
    const mean = s / n;
    // Standard errors: mean 1/sqrt(12n) ≈ 0.002, variance ≈ 0.0006; 5σ bounds.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.011);
    expect(Math.abs(s2 / n - mean * mean - 1 / 12)).toBeLessThan(0.003);
  });

  it('takes other bin counts and rejects values outside 0..bins−1', () => {
    const out = dequantize([0, 1, 2, 3], new Rng(3), { bins: 4 });
    out.forEach((v, i) => expect(Math.floor(v * 4)).toBe(i));
    expect(() => dequantize([0, 256], new Rng(1))).toThrow('values[1] is 256; expected an integer in 0..255');
    expect(() => dequantize([1.5], new Rng(1))).toThrow(/values\[0\] is 1.5/);
    expect(() => dequantize([-1], new Rng(1))).toThrow(/values\[0\] is -1/);
  });
});
