/** Tolerance `|a − b| ≤ atol + rtol·|b|` (b: the float64 reference). */
export interface Tolerance {
  rtol: number;
  atol: number;
}

export interface Mismatch {
  index: number;
  actual: number;
  expected: number;
  error: number;
}

/** The worst violation of the tolerance, or undefined when every entry is within it. */
export function worstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): Mismatch | undefined {
  let worst: Mismatch | undefined;
  let worstRatio = 1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    const err = Math.abs(a - b);
    const ratio = err / (tol.atol + tol.rtol * Math.abs(b));
    if (!(ratio <= worstRatio)) {
      worstRatio = Number.isNaN(ratio) ? Infinity : ratio;
      worst = { index: i, actual: a, expected: b, error: err };
    }
  }
  return worst;
}

/** Throws, naming the tensor, the entry and both values, when `actual` is not close to `expected`. */
export function assertClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): void {
  if (actual.length !== expected.length) throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  const m = worstMismatch(actual, expected, tol);
  if (m) {
    throw new Error(
      `${what}: entry ${m.index} is ${m.actual}, reference ${m.expected} (|error| ${m.error.toExponential(2)} > ${tol.atol} + ${tol.rtol}·|ref|)`,
    );
  }
}

/** The largest relative error `|a − b| / max(|b|, floor)`: for reporting tolerances reached. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1e-6): number {
  let m = 0;
  for (let i = 0; i < expected.length; i++) m = Math.max(m, Math.abs(actual[i]! - expected[i]!) / Math.max(Math.abs(expected[i]!), floor));
  return m;
}

/**
 * How far an engine's gradients are from the reference's: the largest |got − ref| over every
 * entry of the tensors `names`, divided by `scale`, the largest |ref| entry among them (at
 * least 1). One scale for the whole flow: a small tensor's entries are sums of terms of the
 * flow's magnitude, so float32 leaves an absolute error of that size on them. A missing tensor or
 * a length mismatch throws, naming the tensor; a NaN entry makes `worst` NaN.
 */
export function gradientError(
  got: Readonly<Record<string, ArrayLike<number>>>,
  ref: Readonly<Record<string, ArrayLike<number>>>,
  names: readonly string[],
): { worst: number; scale: number } {
  let scale = 1;
  for (const p of names) for (const v of Array.from(ref[p]!)) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (const p of names) {
    const r = ref[p]!;
    const g = got[p];
    if (!g || g.length !== r.length) throw new Error(`gradient of '${p}': ${g ? `${g.length} values` : 'missing'}, the reference has ${r.length}`);
    for (let i = 0; i < r.length; i++) worst = Math.max(worst, Math.abs(g[i]! - r[i]!) / scale);
  }
  return { worst, scale };
}
