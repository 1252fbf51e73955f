import { describe, expect, it } from 'vitest';
import { binomialHalfCdf, median, medianInterval, quantile, relativeHalfWidth, stopReason, summarize, type StopRule } from '../src/stats.js';
import { measure, type TimingOptions } from '../src/timing.js';

describe('order statistics', () => {
  const oneToTen = [7, 3, 10, 1, 5, 9, 2, 8, 6, 4];

  it('interpolates quantiles between order statistics (type 7)', () => {
    expect(median(oneToTen)).toBe(5.5);
    expect(quantile(oneToTen, 0.1)).toBeCloseTo(1.9, 12);
    expect(quantile(oneToTen, 0.9)).toBeCloseTo(9.1, 12);
    expect(quantile(oneToTen, 0)).toBe(1);
    expect(quantile(oneToTen, 1)).toBe(10);
    expect(quantile([4, 1, 3], 0.25)).toBe(2);
    expect(median([42])).toBe(42);
  });

  it('refuses empty inputs and quantiles outside [0, 1]', () => {
    expect(() => quantile([], 0.5)).toThrow(/no values/);
    expect(() => quantile([1], 1.5)).toThrow(/q must be in \[0, 1\]/);
  });

  it('gives exact Binomial(n, 1/2) tail probabilities', () => {
    expect(binomialHalfCdf(1, 10)).toBeCloseTo(11 / 1024, 15);
    expect(binomialHalfCdf(2, 10)).toBeCloseTo(56 / 1024, 15);
    expect(binomialHalfCdf(0, 5)).toBeCloseTo(1 / 32, 15);
    expect(binomialHalfCdf(10, 10)).toBe(1);
    expect(binomialHalfCdf(-1, 10)).toBe(0);
    // Exact sums up to n = 1000 (values from exact rational arithmetic); above, the
    // continuity-corrected normal approximation, within 1e-3 of the exact 0.0386434.
    expect(binomialHalfCdf(480, 1000)).toBeCloseTo(0.10872414660207047, 10);
    expect(Math.abs(binomialHalfCdf(960, 2000) - 0.03864344528133421)).toBeLessThan(1e-3);
  });

  it('builds the distribution-free 95% interval of the median from order statistics', () => {
    // n = 10: 2·P(B ≤ 1) = 0.0215 ≤ 0.05 < 2·P(B ≤ 2) = 0.109, so [x(2), x(9)].
    const ci = medianInterval(oneToTen)!;
    expect(ci.low).toBe(2);
    expect(ci.high).toBe(9);
    expect(ci.coverage).toBeCloseTo(1 - 22 / 1024, 12);
    // n = 5 cannot reach 95% (best coverage 1 − 2/32 = 0.9375); n = 6 can, with the extremes.
    expect(medianInterval([1, 2, 3, 4, 5])).toBeUndefined();
    expect(medianInterval([6, 1, 5, 2, 4, 3])).toMatchObject({ low: 1, high: 6 });
    expect(relativeHalfWidth(oneToTen)).toBeCloseTo((9 - 2) / 2 / 5.5, 12);
    expect(relativeHalfWidth([1, 2, 3])).toBe(Infinity);
  });

  it('summarizes timings', () => {
    const s = summarize(oneToTen);
    expect(s).toMatchObject({ n: 10, median: 5.5, min: 1, max: 10, ciLow: 2, ciHigh: 9 });
    expect(s.p10).toBeCloseTo(1.9, 12);
    expect(s.p90).toBeCloseTo(9.1, 12);
  });
});

describe('the adaptive stop rule', () => {
  const rule: StopRule = { minTimeMs: 100, minSamples: 10, targetRelHalfWidth: 0.02, maxTimeMs: 500, minSamplesAtCap: 3, maxSamples: 1000, hardMaxTimeMs: 2000 };
  const steady = (n: number) => Array.from({ length: n }, (_, i) => 1 + 0.001 * (i % 5));

  it('keeps going until both the minimum time and the minimum count are met', () => {
    expect(stopReason([], 0, rule)).toBeUndefined();
    expect(stopReason(steady(50), 50, rule)).toBeUndefined(); // enough samples, not enough time
    expect(stopReason(steady(9), 150, rule)).toBeUndefined(); // enough time, one sample short
    expect(stopReason(steady(10), 150, rule)).toBe('converged');
  });

  it('does not call a wide interval converged, and stops it at the time cap', () => {
    const noisy = Array.from({ length: 40 }, (_, i) => (i % 2 ? 1 : 3));
    expect(relativeHalfWidth(noisy)).toBeGreaterThan(0.2);
    expect(stopReason(noisy, 300, rule)).toBeUndefined();
    expect(stopReason(noisy, 500, rule)).toBe('time-cap');
    expect(stopReason([900, 950], 1850, rule)).toBeUndefined(); // past the cap but fewer than minSamplesAtCap
    expect(stopReason([900, 950], 2000, rule)).toBe('hard-cap');
  });

  it('stops at the sample cap', () => {
    const noisy = Array.from({ length: 1000 }, (_, i) => (i % 2 ? 1 : 3));
    expect(stopReason(noisy, 50, rule)).toBe('sample-cap');
  });
});

/** A clock that advances only when the fake engine "runs". */
function fakeEngine(callMs: (i: number) => number) {
  let t = 0;
  let calls = 0;
  return {
    clock: { now: () => t },
    call: async () => {
      t += callMs(calls++);
    },
    calls: () => calls,
  };
}

describe('measure', () => {
  const options: TimingOptions = {
    warmupMinCalls: 3,
    warmupMinMs: 10,
    warmupMaxMs: 1000,
    minSampleMs: 2,
    rule: { minTimeMs: 50, minSamples: 10, targetRelHalfWidth: 0.01, maxTimeMs: 200, minSamplesAtCap: 3, maxSamples: 10_000, hardMaxTimeMs: 1000 },
  };

  it('warms up, batches fast calls into samples above the minimum sample time, and converges on a steady engine', async () => {
    // The first two calls are slow (compilation), then every call takes 0.125 ms (exact in binary).
    const e = fakeEngine((i) => (i < 2 ? 30 : 0.125));
    const t = await measure(e.call, options, { clock: e.clock });
    expect(t.warmupCalls).toBe(3); // 60 ms > warmupMinMs after 2, but 3 calls are required
    expect(t.warmupMs).toBe(60.125);
    expect(t.callsPerSample).toBe(16); // 2 ms / 0.125 ms
    expect(t.stopReason).toBe('converged');
    expect(t.samples).toBe(25); // 25 samples × 2 ms = 50 ms, the minimum time
    expect(t.medianMs).toBe(0.125);
    expect(t.relHalfWidth).toBe(0);
    expect(t.samplesMs).toHaveLength(25);
    expect(e.calls()).toBe(3 + 25 * 16);
  });

  it('reports the spread of an unsteady engine and stops at the time cap', async () => {
    // Samples alternate between 1 ms and 3 ms per call: the median cannot be pinned to 1%.
    const e = fakeEngine((i) => (Math.floor(i / 1) % 2 ? 3 : 1));
    const t = await measure(e.call, { ...options, minSampleMs: 0.5 }, { clock: e.clock });
    expect(t.callsPerSample).toBe(1);
    expect(t.stopReason).toBe('time-cap');
    expect(t.p10Ms).toBe(1);
    expect(t.p90Ms).toBe(3);
    expect(t.relHalfWidth).toBeGreaterThan(0.3);
    expect(t.elapsedMs).toBeGreaterThanOrEqual(200);
    expect(t.elapsedMs).toBeLessThan(204);
  });

  it('takes at least one sample of a call slower than every cap', async () => {
    const e = fakeEngine(() => 5000);
    const t = await measure(e.call, options, { clock: e.clock });
    expect(t.warmupCalls).toBe(3);
    expect(t.samples).toBe(1);
    expect(t.stopReason).toBe('hard-cap');
    expect(t.relHalfWidth).toBeNull();
  });
});
