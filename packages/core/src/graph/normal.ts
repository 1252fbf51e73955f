import { ERFC_P, ERFC_Q, ERFC_R, ERFC_S } from '../reference/erf.js';
import type { GraphBuilder, Value } from './graph.js';

/**
 * The standard normal distribution's log-CDF log Φ and quantile Φ⁻¹ as compositions of
 * primitives, accurate in float64 (~1e-15) and float32 alike, including the far tails
 * (log Φ(−10) = −53.23, Φ⁻¹(1e-30) = −11.46), where `log(½(1 + erf(y/√2)))` would round
 * Φ to 0. Every branch of a `where` is evaluated on an input clamped to that branch's
 * range, so no unselected branch produces an infinity (and no NaN gradient).
 */

const SQRT2 = Math.SQRT2;
const LOG_HALF = -Math.LN2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** Horner's rule in the graph, coefficients highest power first. */
export function polynomial(g: GraphBuilder, coefficients: readonly number[], x: Value): Value {
  let p = g.scalar(coefficients[0]!);
  for (const c of coefficients.slice(1)) p = g.add(g.mul(p, x), g.scalar(c));
  return p;
}

const min = (g: GraphBuilder, a: Value, b: Value) => g.neg(g.maximum(g.neg(a), g.neg(b)));
const clamp = (g: GraphBuilder, x: Value, lo: number, hi: number) => min(g, g.maximum(x, g.scalar(lo)), g.scalar(hi));

/**
 * log erfc(z) for z ≥ 1 (smaller z are clamped to 1), after Cephes:
 * −z² + log(P(z)/Q(z)) on [1, 8), and from 8 on −z² + log(R(z)/S(z)) written in w = 1/z,
 * R/S = w·R̃(w)/S̃(w) with the coefficient lists reversed, so no power of z can overflow.
 */
export function logErfcTail(g: GraphBuilder, z: Value): Value {
  const near = clamp(g, z, 1, 8);
  const nearLog = g.log(g.div(polynomial(g, ERFC_P, near), polynomial(g, ERFC_Q, near)));
  const far = g.maximum(z, g.scalar(8));
  const w = g.div(g.scalar(1), far);
  const farLog = g.add(g.log(w), g.log(g.div(polynomial(g, [...ERFC_R].reverse(), w), polynomial(g, [...ERFC_S].reverse(), w))));
  const zc = g.maximum(z, g.scalar(1));
  return g.sub(g.where(g.less(zc, g.scalar(8)), nearLog, farLog), g.mul(zc, zc));
}

/**
 * log Φ(y), Φ the standard normal CDF, three branches:
 * - y < −√2: log ½ + log erfc(−y/√2) ({@link logErfcTail});
 * - −√2 ≤ y ≤ 5: log(½(1 + erf(y/√2))) (no cancellation: Φ ≥ 0.079);
 * - y > 5: log(1 − q) = −q − q²/2 − …, q = ½ erfc(y/√2) < 3e-7.
 */
export function logNdtr(g: GraphBuilder, y: Value): Value {
  const lower = g.add(g.scalar(LOG_HALF), logErfcTail(g, g.mul(y, g.scalar(-1 / SQRT2))));
  const centre = g.log(g.mul(g.add(g.erf(g.mul(clamp(g, y, -SQRT2, 5), g.scalar(1 / SQRT2))), g.scalar(1)), g.scalar(0.5)));
  const q = g.exp(g.add(g.scalar(LOG_HALF), logErfcTail(g, g.mul(g.maximum(y, g.scalar(5)), g.scalar(1 / SQRT2)))));
  const upper = g.neg(g.add(q, g.mul(g.mul(q, q), g.scalar(0.5))));
  return g.where(g.less(y, g.scalar(-SQRT2)), lower, g.where(g.less(g.scalar(5), y), upper, centre));
}

/** log φ(y) = −y²/2 − log √(2π). */
export function logNormalPdf(g: GraphBuilder, y: Value): Value {
  return g.sub(g.mul(g.mul(y, y), g.scalar(-0.5)), g.scalar(LOG_SQRT_2PI));
}

/** Giles (2010), "Approximating the erfinv function", single precision: erfinv(x) ≈ x·p(w), w = −log(1 − x²). */
const GILES_CENTRAL = [2.81022636e-8, 3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 2.1858087e-4, -1.25372503e-3, -4.17768164e-3, 2.46640727e-1, 1.50140941];
const GILES_TAIL = [-2.00214257e-4, 1.00950558e-4, 1.34934322e-3, -3.67342844e-3, 5.73950773e-3, -7.6224613e-3, 9.43887047e-3, 1.00167406, 2.83297682];
/**
 * Giles' fit covers what float32 can reach, 1 − x² ≥ 2⁻²⁴ (w ≤ 16.6); beyond w = 16 (u below
 * ~3e-8) the asymptotic start is used.
 */
const GILES_W_MAX = 16;
/** Newton steps on log Φ after the start: either start is within 4e-4, so 3 steps reach float64 precision. */
export const NDTRI_NEWTON_STEPS = 3;

/**
 * Φ⁻¹(u) from `logU` = log u and `log1mU` = log(1 − u), each given separately so that both
 * tails keep their precision (u = 1 − 1e-30 is not a float, log(1 − u) is).
 *
 * By symmetry it solves log Φ(Y) = ℓ for Y ≤ 0 with ℓ = min(log u, log(1 − u)), and returns
 * Y for u ≤ ½ and −Y otherwise. Start: Giles' single-precision erfinv, in the form
 * Y₀ = −√2·(1 − 2e^ℓ)·p(w) with w = −log 4u(1−u) = −log 4 − log u − log(1 − u); beyond
 * w = 16 the asymptotic form: from log Φ(Y) = −Y²/2 − log(−Y√(2π)) + log(1 − 1/Y² + …),
 * with t = −2ℓ, Y² = t − log 2π − log Y² − 2/Y² + …, iterated once from Y² ≈ t − log t − log 2π
 * (4e-4 relative at w = 16, better further out). Then Newton on the concave log Φ: Y ← Y − (log Φ(Y) − ℓ)·Φ(Y)/φ(Y), with
 * the ratio as exp(log Φ(Y) − log φ(Y)) — quadratic, and monotone after the first step.
 */
export function ndtriFromLogs(g: GraphBuilder, logU: Value, log1mU: Value, newtonSteps = NDTRI_NEWTON_STEPS): Value {
  const upperHalf = g.less(log1mU, logU);
  const ell = min(g, logU, log1mU);
  // −log u − log(1 − u) as a difference: tfjs' tape frees the one gradient an `add` hands to both
  // operands when each also feeds another op (here `less` and `min`).
  const w = g.sub(g.sub(g.neg(logU), log1mU), g.scalar(Math.log(4)));
  const central = polynomial(g, GILES_CENTRAL, g.sub(min(g, w, g.scalar(5)), g.scalar(2.5)));
  const tail = polynomial(g, GILES_TAIL, g.sub(g.sqrt(clamp(g, w, 5, GILES_W_MAX)), g.scalar(3)));
  const p = g.where(g.less(w, g.scalar(5)), central, tail);
  const giles = g.mul(g.mul(g.sub(g.scalar(1), g.mul(g.exp(ell), g.scalar(2))), p), g.scalar(-SQRT2));
  const t = g.maximum(g.mul(ell, g.scalar(-2)), g.scalar(GILES_W_MAX));
  const y0sq = g.sub(g.sub(t, g.log(t)), g.scalar(2 * LOG_SQRT_2PI));
  const y1sq = g.sub(g.sub(g.sub(t, g.log(y0sq)), g.div(g.scalar(2), y0sq)), g.scalar(2 * LOG_SQRT_2PI));
  const asymptotic = g.neg(g.sqrt(y1sq));
  let y = g.where(g.less(w, g.scalar(GILES_W_MAX)), giles, asymptotic);
  for (let i = 0; i < newtonSteps; i++) {
    const lp = logNdtr(g, y);
    y = g.sub(y, g.mul(g.sub(lp, ell), g.exp(g.sub(lp, logNormalPdf(g, y)))));
  }
  return g.where(upperHalf, g.neg(y), y);
}
