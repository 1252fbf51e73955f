import { stopReason, summarize, type StopReason, type StopRule } from './stats.js';
import type { TimingResult } from './results.js';

/**
 * How one (engine, preset, task, batch) cell is timed. Browser-safe: the same loop runs in
 * Node workers and in Chromium pages, with the host's clock.
 */
export interface TimingOptions {
  /** Warm-up: at least this many calls and this long (first calls compile, allocate, tune)… */
  warmupMinCalls: number;
  warmupMinMs: number;
  /** …but a warm-up of slow calls stops after this long once it has its minimum calls. */
  warmupMaxMs: number;
  /**
   * Calls timed together per sample are chosen so that a sample lasts at least this long:
   * a 50 µs call timed alone would be at the mercy of the timer's resolution.
   */
  minSampleMs: number;
  rule: StopRule;
}

export interface Clock {
  now(): number;
}

export interface MeasureHooks {
  clock: Clock;
  /** Called after every sample (memory polling); outside the timed region. */
  afterSample?(): void;
}

/**
 * Warm-up, then repeated timed samples of `callsPerSample` consecutive awaited calls
 * until the adaptive rule stops. Each sample records the per-call time (sample time ÷
 * calls).
 */
export async function measure(call: () => Promise<unknown>, options: TimingOptions, hooks: MeasureHooks): Promise<TimingResult> {
  const { clock } = hooks;
  const warmupStart = clock.now();
  const warmupTimes: number[] = [];
  for (;;) {
    const t0 = clock.now();
    await call();
    warmupTimes.push(clock.now() - t0);
    const spent = clock.now() - warmupStart;
    if (warmupTimes.length >= options.warmupMinCalls && (spent >= options.warmupMinMs || spent >= options.warmupMaxMs)) break;
  }
  const warmupMs = clock.now() - warmupStart;
  // A warm call's time: the fastest of the later half of the warm-up (noise only ever adds
  // time, and an underestimate only makes samples longer than needed).
  const late = warmupTimes.slice(Math.floor(warmupTimes.length / 2));
  const estimate = Math.max(Math.min(...late), 1e-3);
  const callsPerSample = Math.min(10_000, Math.max(1, Math.ceil(options.minSampleMs / estimate)));

  const samples: number[] = [];
  let elapsed = 0;
  let reason: StopReason | undefined;
  while (!reason) {
    const t0 = clock.now();
    for (let i = 0; i < callsPerSample; i++) await call();
    const dt = clock.now() - t0;
    elapsed += dt;
    samples.push(dt / callsPerSample);
    hooks.afterSample?.();
    reason = stopReason(samples, elapsed, options.rule);
  }
  const s = summarize(samples);
  return {
    medianMs: s.median,
    p10Ms: s.p10,
    p90Ms: s.p90,
    minMs: s.min,
    maxMs: s.max,
    ...(s.ciLow !== undefined ? { ciLowMs: s.ciLow, ciHighMs: s.ciHigh } : {}),
    relHalfWidth: Number.isFinite(s.relHalfWidth) ? s.relHalfWidth : null,
    samples: s.n,
    callsPerSample,
    warmupCalls: warmupTimes.length,
    warmupMs,
    stopReason: reason,
    elapsedMs: elapsed,
    samplesMs: samples,
  };
}

/**
 * The quick profile (`npm run bench`): a few hundred ms per cell. One warm-up call is enough
 * for slow calls here: each task's cold first call already ran in the correctness check.
 */
export const QUICK_TIMING: TimingOptions = {
  warmupMinCalls: 1,
  warmupMinMs: 60,
  warmupMaxMs: 1000,
  minSampleMs: 2,
  rule: { minTimeMs: 120, minSamples: 7, targetRelHalfWidth: 0.03, maxTimeMs: 350, minSamplesAtCap: 3, maxSamples: 500, hardMaxTimeMs: 2500 },
};

/** The full profile (`--full`): seconds per cell and a tighter interval. */
export const FULL_TIMING: TimingOptions = {
  warmupMinCalls: 3,
  warmupMinMs: 300,
  warmupMaxMs: 5000,
  minSampleMs: 5,
  rule: { minTimeMs: 1000, minSamples: 15, targetRelHalfWidth: 0.01, maxTimeMs: 5000, minSamplesAtCap: 5, maxSamples: 2000, hardMaxTimeMs: 30_000 },
};
