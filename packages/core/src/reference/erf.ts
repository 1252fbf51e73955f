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
export const ERF_T = [9.604973739870516, 90.02601972038427, 2232.005345946843, 7003.325141128051, 55592.30130103949];
export const ERF_U = [1, 33.56171416475031, 521.3579497801527, 4594.323829709801, 22629.000061389095, 49267.39426086359];
export const ERFC_P = [
  2.461969814735305e-10, 0.5641895648310689, 7.463210564422699, 48.63719709856814, 196.5208329560771,
  526.4451949954773, 934.5285271719576, 1027.5518868951572, 557.5353353693994,
];
export const ERFC_Q = [
  1, 13.228195115474499, 86.70721408859897, 354.9377788878199, 975.7085017432055, 1823.9091668790973,
  2246.3376081871097, 1656.6630919416134, 557.5353408177277,
];
export const ERFC_R = [0.5641895835477551, 1.275366707599781, 5.019050422511805, 6.160210979930536, 7.4097426995044895, 2.9788666537210022];
export const ERFC_S = [1, 2.2605286322011726, 9.396035249380015, 12.048953980809666, 17.08144507475659, 9.608968090632859, 3.369076451000815];

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
