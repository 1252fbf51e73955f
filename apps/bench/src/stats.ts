/**
 * Order statistics of timings and the adaptive repetition rule.
 *
 * Timings are skewed (a floor set by the work, a right tail from the scheduler, GC and
 * caches), so the bench reports the median and the p10–p90 range rather than a mean and a
 * standard deviation, and decides when it has measured enough from a distribution-free
 * confidence interval of the median (Conover, *Practical Nonparametric Statistics*, §3.2):
 * for n sorted samples, [x₍ₗ₎, x₍ₙ₋ₗ₊₁₎] covers the true median with probability
 * 1 − 2·P(B ≤ l − 1), B ~ Binomial(n, ½), whatever the distribution.
 */

/** Sorted copy, ascending. */
export function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/**
 * The q-quantile (0 ≤ q ≤ 1) by linear interpolation between order statistics (Hyndman &
 * Fan type 7, the default of R and NumPy): position h = (n − 1)·q in the sorted values.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('quantile: no values');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  const s = sorted(values);
  return quantileOfSorted(s, q);
}

function quantileOfSorted(s: readonly number[], q: number): number {
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** P(B ≤ k) for B ~ Binomial(n, ½); exact up to n = 1000, normal approximation (continuity-corrected) above. */
export function binomialHalfCdf(k: number, n: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  if (n > 1000) {
    const z = (k + 0.5 - n / 2) / Math.sqrt(n / 4);
    return normalCdf(z);
  }
  // log C(n, i) − n log 2, summed in linear space from a stable start.
  let logTerm = -n * Math.LN2; // i = 0
  let total = Math.exp(logTerm);
  for (let i = 1; i <= k; i++) {
    logTerm += Math.log((n - i + 1) / i);
    total += Math.exp(logTerm);
  }
  return Math.min(1, total);
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

export interface MedianInterval {
  low: number;
  high: number;
  /** Actual coverage of the order-statistic interval (≥ the confidence asked for). */
  coverage: number;
}

/**
 * The distribution-free confidence interval of the median at `confidence` (default 0.95),
 * or undefined when n is too small for any order-statistic interval to reach it (n < 6 at 95%).
 */
export function medianInterval(values: readonly number[], confidence = 0.95): MedianInterval | undefined {
  const n = values.length;
  const alpha = 1 - confidence;
  // Largest l with 2·P(B ≤ l − 1) ≤ α; the interval [x₍ₗ₎, x₍ₙ₋ₗ₊₁₎] (1-based).
  let l = 0;
  for (let cand = 1; cand <= Math.floor((n + 1) / 2); cand++) {
    if (2 * binomialHalfCdf(cand - 1, n) <= alpha) l = cand;
    else break;
  }
  if (l === 0) return undefined;
  const s = sorted(values);
  return { low: s[l - 1]!, high: s[n - l]!, coverage: 1 - 2 * binomialHalfCdf(l - 1, n) };
}

/** Half the width of the median's confidence interval over the median; Infinity when there is no interval yet. */
export function relativeHalfWidth(values: readonly number[], confidence = 0.95): number {
  const ci = medianInterval(values, confidence);
  if (!ci) return Infinity;
  const m = median(values);
  return m > 0 ? (ci.high - ci.low) / 2 / m : Infinity;
}

export interface Summary {
  n: number;
  median: number;
  p10: number;
  p90: number;
  min: number;
  max: number;
  /** 95% confidence interval of the median (absent when n < 6). */
  ciLow?: number;
  ciHigh?: number;
  /** (ciHigh − ciLow) / 2 / median; Infinity when there is no interval. */
  relHalfWidth: number;
}

export function summarize(values: readonly number[], confidence = 0.95): Summary {
  if (values.length === 0) throw new RangeError('summarize: no values');
  const s = sorted(values);
  const ci = medianInterval(s, confidence);
  const m = quantileOfSorted(s, 0.5);
  return {
    n: s.length,
    median: m,
    p10: quantileOfSorted(s, 0.1),
    p90: quantileOfSorted(s, 0.9),
    min: s[0]!,
    max: s[s.length - 1]!,
    ...(ci ? { ciLow: ci.low, ciHigh: ci.high } : {}),
    relHalfWidth: ci && m > 0 ? (ci.high - ci.low) / 2 / m : Infinity,
  };
}

/** When to stop repeating a timed call. */
export interface StopRule {
  /** Measure at least this long (ms of timed samples)… */
  minTimeMs: number;
  /** …and at least this many samples. */
  minSamples: number;
  /** Converged: the median's 95% CI half-width is at most this fraction of the median. */
  targetRelHalfWidth: number;
  /** Stop after this long even if not converged, once `minSamplesAtCap` samples exist. */
  maxTimeMs: number;
  minSamplesAtCap: number;
  /** Stop after this many samples whatever else holds. */
  maxSamples: number;
  /** Hard limit: stop after this long whatever else holds (a single call slower than this still gives one sample). */
  hardMaxTimeMs: number;
}

export type StopReason = 'converged' | 'time-cap' | 'sample-cap' | 'hard-cap';

/**
 * The adaptive rule: stop once both minimums are met and the median is pinned down to
 * `targetRelHalfWidth`; failing that, stop at the time cap (with `minSamplesAtCap`
 * samples), the sample cap, or the hard time limit. Returns undefined to keep going.
 */
export function stopReason(samples: readonly number[], elapsedMs: number, rule: StopRule): StopReason | undefined {
  const n = samples.length;
  if (n === 0) return undefined;
  if (n >= rule.maxSamples) return 'sample-cap';
  if (elapsedMs >= rule.hardMaxTimeMs) return 'hard-cap';
  if (elapsedMs >= rule.minTimeMs && n >= rule.minSamples && relativeHalfWidth(samples) <= rule.targetRelHalfWidth) return 'converged';
  if (elapsedMs >= rule.maxTimeMs && n >= rule.minSamplesAtCap) return 'time-cap';
  return undefined;
}
