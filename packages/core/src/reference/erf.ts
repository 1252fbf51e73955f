/**
 * The error function in float64, after Cephes (S. L. Moshier, `ndtr.c`): relative error
 * ~1e-16 on |x| < 1 and an absolute error ~1e-16 beyond (where erf is 1 − erfc to double
 * precision). The same rational approximations give log erfc(x) for x ≥ 1 without
 * underflow, which the graph compositions of `graph/normal.ts` reuse.
 *
 *   |x| < 1:       erf(x)  = x · T(x²) / U(x²)
 *   1 ≤ x < 8:     erfc(x) = e^(−x²) · P(x) / Q(x)
 *   x ≥ 8:         erfc(x) = e^(−x²) · R(x) / S(x)
 *
 * Coefficients highest power first; `U`, `Q`, `S` have an implicit leading 1.
 */
export const ERF_T = [9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3, 7.00332514112805075473e3, 5.55923013010394962768e4];
export const ERF_U = [1, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3, 2.26290000613890934246e4, 4.92673942608635921086e4];
export const ERFC_P = [
  2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0, 4.86371970985681366614e1, 1.96520832956077098242e2,
  5.26445194995477358631e2, 9.3452852717195760754e2, 1.02755188689515710272e3, 5.57535335369399327526e2,
];
export const ERFC_Q = [
  1, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2, 9.75708501743205489753e2, 1.82390916687909736289e3,
  2.24633760818710981792e3, 1.65666309194161350182e3, 5.57535340817727675546e2,
];
export const ERFC_R = [5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0, 6.16021097993053585195e0, 7.4097426995044893916e0, 2.9788666537210024067e0];
export const ERFC_S = [1, 2.2605286322011727659e0, 9.39603524938001434673e0, 1.20489539808096656605e1, 1.70814450747565897222e1, 9.60896809063285878198e0, 3.3690764510008151605e0];

/** Horner evaluation, coefficients highest power first. */
export function polynomial(coefficients: readonly number[], x: number): number {
  let p = 0;
  for (const c of coefficients) p = p * x + c;
  return p;
}

/** log erfc(x) for x ≥ 1: −x² + log(P/Q) (or R/S from 8 on); finite for every finite x. */
export function logErfcTail(x: number): number {
  const ratio = x < 8 ? polynomial(ERFC_P, x) / polynomial(ERFC_Q, x) : polynomial(ERFC_R, x) / polynomial(ERFC_S, x);
  return -x * x + Math.log(ratio);
}

/** erf(x) in float64 (see the module comment for the accuracy). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a < 1) {
    const z = x * x;
    return (x * polynomial(ERF_T, z)) / polynomial(ERF_U, z);
  }
  const erfc = a > 27 ? 0 : Math.exp(logErfcTail(a));
  return x < 0 ? erfc - 1 : 1 - erfc;
}
