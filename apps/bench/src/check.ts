import { FLOAT32_TOLERANCES, maxRelativeError, worstMismatch } from '@bijective/core/testing';
import type { CheckResult, Task, Tolerance } from './results.js';

/**
 * The tolerance an engine's float32 outputs must meet against the float64 reference: the
 * conformance suite's (`FLOAT32_TOLERANCES`), so the bench asks of an engine exactly what the
 * backends' own tests ask of it.
 */
export function toleranceFor(task: Task, mode: 'direct' | 'inverse' = 'direct'): Tolerance {
  if (mode === 'inverse') return FLOAT32_TOLERANCES.roundTrip;
  return task === 'sample' ? FLOAT32_TOLERANCES.sample : FLOAT32_TOLERANCES.logProb;
}

/**
 * The float32 tolerance of a training step's gradients: entry by entry,
 * `|g − ref| ≤ atolScale · max(1, max |ref|) + rtol · |ref|`. The absolute part is relative to
 * the largest gradient entry of the whole flow (as the backends' gradient tests measure it): a
 * gradient entry is a sum over the batch and the event of terms of the flow's magnitude, so
 * float32 cancellation leaves an absolute error of that scale even on entries near zero.
 */
export const GRADIENT_TOLERANCE = { rtol: 1e-3, atolScale: 1e-4 } as const;

/** The reference of a train check: the loss, then every trainable parameter's gradient, in `params` order. */
export interface TrainReference {
  loss: number;
  grads: Float64Array;
  /** Parameter names and sizes, in the order their gradients are concatenated. */
  params: readonly { name: string; size: number }[];
}

/** {@link GRADIENT_TOLERANCE} for gradients `ref`: atol scaled by the largest |entry| (at least 1). */
export function gradientTolerance(ref: ArrayLike<number>): Tolerance {
  let scale = 1;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]!));
  return { rtol: GRADIENT_TOLERANCE.rtol, atol: GRADIENT_TOLERANCE.atolScale * scale };
}

/**
 * Compares an engine's training step on the check batch with the float64 reference: `actual`
 * is `[loss, ...gradients]` (every trainable parameter's, in `ref.params` order). The loss must
 * meet the logProb tolerance, every gradient entry {@link GRADIENT_TOLERANCE}; the worst
 * gradient mismatch is named by parameter and entry.
 */
export function compareTrain(
  base: Pick<CheckResult, 'engineId' | 'preset' | 'task' | 'batch'> & { coldMs?: number },
  actual: ArrayLike<number>,
  ref: TrainReference,
  compared: string,
): CheckResult {
  const tolerance = gradientTolerance(ref.grads);
  const how = { compared, tolerance };
  const expectedLength = 1 + ref.grads.length;
  if (actual.length !== expectedLength) return compareWithReference(base, actual, Float64Array.of(ref.loss, ...ref.grads), how);
  const loss = compareWithReference(base, [actual[0]!], [ref.loss], { compared, tolerance: toleranceFor('train') });
  const grads = compareWithReference(base, Array.prototype.slice.call(actual, 1) as number[], ref.grads, how);
  const worstOf = (a: number | null | undefined, b: number | null | undefined) => (a === null || b === null ? null : Math.max(a ?? 0, b ?? 0));
  const stats = { maxAbsError: worstOf(loss.maxAbsError, grads.maxAbsError), maxRelError: worstOf(loss.maxRelError, grads.maxRelError) };
  if (loss.status === 'error') return { ...grads, status: 'error', message: `the reference loss is not finite (${ref.loss})` };
  if (grads.status === 'error') return grads;
  if (loss.status === 'wrong') {
    return { ...grads, ...stats, status: 'wrong', worst: loss.worst!, message: `the loss is ${actual[0]}, reference ${ref.loss} (beyond the logProb tolerance rtol ${loss.tolerance.rtol}, atol ${loss.tolerance.atol})` };
  }
  if (grads.status === 'pass' || !grads.worst) return { ...grads, ...stats };
  const w = grads.worst;
  let i = w.index;
  let where = `gradient entry ${i}`;
  for (const p of ref.params) {
    if (i < p.size) {
      where = `d loss / d ${p.name}[${i}]`;
      break;
    }
    i -= p.size;
  }
  return {
    ...grads,
    ...stats,
    // Indices of `actual`: the loss is entry 0.
    worst: { ...w, index: w.index + 1 },
    message: `${where} is ${w.actual}, reference ${w.expected} (|error| ${w.error.toExponential(2)} > ${tolerance.atol.toPrecision(3)} + ${tolerance.rtol}·|ref|)`,
  };
}

/**
 * Compares an engine's output on the check batch with the reference. A wrong length or any
 * entry outside `atol + rtol·|ref|` (NaN included) makes the check `wrong`; a non-finite
 * reference cannot judge anything and makes it `error`.
 */
export function compareWithReference(
  base: Pick<CheckResult, 'engineId' | 'preset' | 'task' | 'batch'> & { coldMs?: number },
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  how: { compared: string; tolerance?: Tolerance } = { compared: base.task === 'logProb' ? 'logProb (nats) per example' : 'sample x = f⁻¹(z) for the same noise z' },
): CheckResult {
  const tolerance = how.tolerance ?? toleranceFor(base.task);
  const common = { ...base, compared: how.compared, tolerance };
  for (let i = 0; i < expected.length; i++) {
    if (!Number.isFinite(expected[i]!)) {
      return { ...common, status: 'error', message: `the reference output is not finite at entry ${i} (${expected[i]}): the inputs are outside the flow's domain` };
    }
  }
  if (actual.length !== expected.length) {
    return { ...common, status: 'wrong', message: `${actual.length} values, the reference has ${expected.length}` };
  }
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(actual[i]! - expected[i]!));
  const worst = worstMismatch(actual, expected, tolerance);
  const rel = maxRelativeError(actual, expected);
  const stats = { maxAbsError: Number.isFinite(maxAbs) ? maxAbs : null, maxRelError: Number.isFinite(rel) ? rel : null };
  if (!worst) return { ...common, status: 'pass', ...stats };
  return {
    ...common,
    status: 'wrong',
    ...stats,
    worst,
    message: `entry ${worst.index} is ${worst.actual}, reference ${worst.expected} (|error| ${worst.error.toExponential(2)} > ${tolerance.atol} + ${tolerance.rtol}·|ref|)`,
  };
}
