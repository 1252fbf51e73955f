import { FLOAT32_TOLERANCES, maxRelativeError, worstMismatch } from '@bijective/core/testing';
import type { CheckResult, Task, Tolerance } from './results.js';

/**
 * The tolerance an engine's float32 outputs must meet against the float64 reference: the
 * conformance suite's (`FLOAT32_TOLERANCES`), so the bench asks of an engine exactly what the
 * backends' own tests ask of it.
 */
export function toleranceFor(task: Task, mode: 'direct' | 'inverse' = 'direct'): Tolerance {
  if (mode === 'inverse') return FLOAT32_TOLERANCES.roundTrip;
  return task === 'logProb' ? FLOAT32_TOLERANCES.logProb : FLOAT32_TOLERANCES.sample;
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
