/**
 * Learning-rate schedules: linear warm-up, then an optional decay.
 *
 *   lr(s) = base · min(1, (s + 1) / warmup) · decay(s)
 *   cosine:       decay(s) = f + (1 − f) · ½ (1 + cos(π · p)),  p = (s − warmup) / (total − warmup) ∈ [0, 1]
 *   exponential:  decay(s) = γ^((s − warmup) / every)
 * with `s` the step (0-based), `f` the final fraction of the base rate; both decays start
 * after the warm-up.
 */
export type LrDecay =
  | { type: 'none' }
  | { type: 'cosine'; /** Fraction of the base rate reached at the last step (default 0). */ finalFraction?: number }
  | { type: 'exponential'; /** Factor per `every` steps. */ gamma: number; every?: number };

export interface LrSchedule {
  lr: number;
  warmupSteps?: number;
  decay?: LrDecay;
  totalSteps: number;
}

export function checkSchedule(s: LrSchedule): void {
  if (!(Number.isFinite(s.lr) && s.lr > 0)) throw new RangeError(`train: lr must be a positive number, got ${s.lr}`);
  const w = s.warmupSteps ?? 0;
  if (!(Number.isInteger(w) && w >= 0)) throw new RangeError(`train: warmupSteps must be a non-negative integer, got ${w}`);
  const d = s.decay;
  if (d?.type === 'cosine' && d.finalFraction !== undefined && !(d.finalFraction >= 0 && d.finalFraction <= 1)) {
    throw new RangeError(`train: decay.finalFraction must be in [0, 1], got ${d.finalFraction}`);
  }
  if (d?.type === 'exponential') {
    if (!(d.gamma > 0 && d.gamma <= 1)) throw new RangeError(`train: decay.gamma must be in (0, 1], got ${d.gamma}`);
    if (d.every !== undefined && !(Number.isInteger(d.every) && d.every >= 1)) throw new RangeError(`train: decay.every must be a positive integer, got ${d.every}`);
  }
}

/** The learning rate at step `step` (0-based). */
export function learningRate(s: LrSchedule, step: number): number {
  const warmup = s.warmupSteps ?? 0;
  const warm = warmup > 0 ? Math.min(1, (step + 1) / warmup) : 1;
  const after = Math.max(0, step - warmup);
  const d = s.decay ?? { type: 'none' };
  let decay = 1;
  if (d.type === 'cosine') {
    const span = Math.max(1, s.totalSteps - 1 - warmup);
    const p = Math.min(1, after / span);
    const f = d.finalFraction ?? 0;
    decay = f + (1 - f) * 0.5 * (1 + Math.cos(Math.PI * p));
  } else if (d.type === 'exponential') {
    decay = d.gamma ** (after / (d.every ?? 1));
  }
  return s.lr * warm * decay;
}
