import type { GraphBuilder, Value } from '../graph/graph.js';
import { softplus } from '../graph/ops.js';
import { SpecError, num, type Obj } from '../flow/fields.js';

/**
 * Monotone rational-quadratic splines (Durkan, Bekasov, Murray & Papamakarios 2019, "Neural
 * Spline Flows", https://arxiv.org/abs/1906.04032, §3.1 and appendix A), the elementwise
 * bijection of `splineCoupling` and `splineAutoregressive`.
 *
 * On `[−B, B]` the map is K rational-quadratic pieces through the knots `(x_k, y_k)`,
 * `k = 0..K`, `x_0 = y_0 = −B`, `x_K = y_K = B`, with derivatives `d_k` at the knots; outside it
 * is the identity (linear tails with slope 1, so `d_0 = d_K = 1` and the map is C¹). From the
 * raw conditioner output `[u_w (K), u_h (K), u_d (K − 1)]` per element:
 * - bin widths `w_k = 2B (m_w + (1 − K m_w) softmax(u_w)_k)`, heights `h_k` likewise with `m_h`
 *   (`minBinWidth`, `minBinHeight`); knots are their cumulative sums from `−B`;
 * - interior derivatives `d_k = m_d + softplus(u_d + c)`, `c = log(e^{1 − m_d} − 1)`, so a raw
 *   output of zero gives `d_k = 1` and, with uniform bins, the identity (a fresh layer with a
 *   zero-initialised conditioner head is the identity).
 *
 * In bin k, with `s_k = h_k / w_k`, `ξ = (x − x_k) / w_k ∈ [0, 1]` and `τ = ξ(1 − ξ)`:
 * - forward (eq. 4): `y = y_k + h_k (s_k ξ² + d_k τ) / (s_k + (d_{k+1} + d_k − 2 s_k) τ)`;
 * - derivative (eq. 5): `dy/dx = s_k² (d_{k+1} ξ² + 2 s_k τ + d_k (1 − ξ)²) / (s_k + (d_{k+1} + d_k − 2 s_k) τ)²`,
 *   so `log|dy/dx|` is exact and elementwise;
 * - inverse (eq. 6–8): ξ is the root in [0, 1] of `a ξ² + b ξ + c = 0` with, for `Δ = y − y_k`,
 *   `a = h_k (s_k − d_k) + Δ (d_{k+1} + d_k − 2 s_k)`, `b = h_k d_k − Δ (d_{k+1} + d_k − 2 s_k)`,
 *   `c = −s_k Δ`, taken in the cancellation-free form `ξ = 2c / (−b − √(b² − 4ac))`, and
 *   `x = x_k + ξ w_k`.
 *
 * The bin is found by comparisons and a sum, never a sort or an index gather (which is why this
 * exports to ONNX, unlike `searchsorted`-based splines): `L_k = [x ≥ x_k]` for `k ≥ 1` and
 * `L_0 = 1` on `[−B, B)` give the one-hot `e_k = L_k − L_{k+1}` (`L_K = 0`), and every per-bin
 * quantity q is selected as `Σ_k e_k q_k`. Outside the interval the spline is evaluated at 0
 * (any point inside) and discarded by a `where`, so no NaN or infinity reaches values or
 * gradients.
 */
export interface SplineSpec {
  /** Number of bins K (>= 2). */
  bins: number;
  /** Half-width B of the spline's interval [−B, B]. */
  bound: number;
  minBinWidth: number;
  minBinHeight: number;
  minDerivative: number;
}

/** The spline fields `parseSpline` fills in with defaults: all of them. */
export type SplineDefaulted = keyof SplineSpec;

export const SPLINE_KEYS = ['bins', 'bound', 'minBinWidth', 'minBinHeight', 'minDerivative'] as const;

/** Reads the spline fields of a layer spec (defaults: 8 bins on [−3, 3], minima 1e-3). */
export function parseSpline(o: Obj, path: string): SplineSpec {
  const bins = num(o, 'bins', path, { int: true, min: 2, default: 8 });
  const bound = num(o, 'bound', path, { minExclusive: 0, default: 3 });
  const minimum = (key: 'minBinWidth' | 'minBinHeight') => {
    const v = num(o, key, path, { min: 0, default: 1e-3 });
    if (v * bins >= 1) throw new SpecError(`${path}.${key}`, `${bins} bins of at least ${v} (as a fraction of the interval) need ${key} < 1/${bins}, got ${v}`);
    return v;
  };
  const minBinWidth = minimum('minBinWidth');
  const minBinHeight = minimum('minBinHeight');
  const minDerivative = num(o, 'minDerivative', path, { min: 0, default: 1e-3 });
  if (minDerivative >= 1) throw new SpecError(`${path}.minDerivative`, `must be < 1 (the tails have slope 1), got ${minDerivative}`);
  return { bins, bound, minBinWidth, minBinHeight, minDerivative };
}

/** Raw conditioner outputs per transformed element: K widths, K heights, K − 1 interior derivatives. */
export const splineParamCount = (spec: SplineSpec): number => 3 * spec.bins - 1;

/** Per-bin quantities, each `[N, ..., K]`. */
export interface SplineBins {
  /** Left knots x_k and y_k. */
  xs: Value;
  ys: Value;
  widths: Value;
  heights: Value;
  /** Derivatives at the left and right knot of each bin. */
  dLeft: Value;
  dRight: Value;
}

function softmaxLast(g: GraphBuilder, u: Value): Value {
  const e = g.exp(g.sub(u, g.max(u, [-1], true)));
  return g.div(e, g.sum(e, [-1], true));
}

/** Bin sizes `2B (m + (1 − K m) softmax(u))` and left knots `−B + Σ_{j<k} size_j`. */
function sizesAndKnots(g: GraphBuilder, spec: SplineSpec, u: Value, min: number): { sizes: Value; knots: Value } {
  const b = spec.bound;
  const sizes = g.add(g.mul(softmaxLast(g, u), g.scalar(2 * b * (1 - spec.bins * min))), g.scalar(2 * b * min));
  return { sizes, knots: g.sub(g.sub(g.cumsum(sizes, -1), sizes), g.scalar(b)) };
}

/** Knots, bin sizes and knot derivatives `[N, ..., K]` from the raw parameters `[N, ..., 3K − 1]`. */
export function splineBins(g: GraphBuilder, spec: SplineSpec, raw: Value): SplineBins {
  const k = spec.bins;
  const w = sizesAndKnots(g, spec, g.slice(raw, -1, 0, k), spec.minBinWidth);
  const h = sizesAndKnots(g, spec, g.slice(raw, -1, k, 2 * k), spec.minBinHeight);
  const ud = g.slice(raw, -1, 2 * k, 3 * k - 1);
  const m = spec.minDerivative;
  const inner = g.add(softplus(g, g.add(ud, g.scalar(Math.log(Math.expm1(1 - m))))), g.scalar(m));
  const one = g.add(g.mul(g.slice(ud, -1, 0, 1), g.scalar(0)), g.scalar(1));
  return { xs: w.knots, ys: h.knots, widths: w.sizes, heights: h.sizes, dLeft: g.concat([one, inner], -1), dRight: g.concat([inner, one], -1) };
}

/** One-hot `[N, ..., K]` of the bin of `v` (`[N, ..., 1]`, inside [−B, B)) among left knots `knots`. */
function binOneHot(g: GraphBuilder, v: Value, knots: Value, k: number): Value {
  const zeros = g.mul(knots, g.scalar(0));
  const above = g.where(g.greaterEqual(v, knots), g.add(zeros, g.scalar(1)), zeros);
  const next = g.concat([g.slice(above, -1, 1, k), g.slice(zeros, -1, 0, 1)], -1);
  return g.sub(above, next);
}

/** The log-derivative `log dy/dx` at ξ in the selected bin (eq. 5). */
function logDerivative(g: GraphBuilder, xi: Value, s: Value, dk: Value, dk1: Value): Value {
  const one = g.scalar(1);
  const om = g.sub(one, xi);
  const tau = g.mul(xi, om);
  const den = g.add(s, g.mul(g.sub(g.add(dk1, dk), g.mul(s, g.scalar(2))), tau));
  const numer = g.add(g.add(g.mul(dk1, g.mul(xi, xi)), g.mul(g.mul(s, g.scalar(2)), tau)), g.mul(dk, g.mul(om, om)));
  return g.sub(g.add(g.mul(g.log(s), g.scalar(2)), g.log(numer)), g.mul(g.log(den), g.scalar(2)));
}

/**
 * Applies the spline elementwise to `v` `[N, ...]` with raw parameters `raw` `[N, ..., 3K − 1]`:
 * `forward` maps x to y, `inverse` y to x. Returns the output and the elementwise
 * `log|dy/dx|` of the forward map (at x), `[N, ...]`, in both directions.
 */
export function rqSpline(g: GraphBuilder, spec: SplineSpec, raw: Value, v: Value, direction: 'forward' | 'inverse'): { out: Value; logDet: Value } {
  const k = spec.bins;
  const inside = g.less(g.abs(v), g.scalar(spec.bound));
  const zero = g.mul(v, g.scalar(0));
  const vc = g.where(inside, v, zero);
  const ve = g.reshape(vc, [...vc.shape, 1]);
  const q = splineBins(g, spec, raw);
  const onehot = binOneHot(g, ve, direction === 'forward' ? q.xs : q.ys, k);
  const pick = (t: Value) => g.sum(g.mul(t, onehot), [-1]);
  const [xk, yk, wk, hk, dk, dk1] = [q.xs, q.ys, q.widths, q.heights, q.dLeft, q.dRight].map(pick) as [Value, Value, Value, Value, Value, Value];
  const s = g.div(hk, wk);
  const slopeSum = g.sub(g.add(dk1, dk), g.mul(s, g.scalar(2)));
  let out: Value;
  let xi: Value;
  if (direction === 'forward') {
    xi = g.div(g.sub(vc, xk), wk);
    const tau = g.mul(xi, g.sub(g.scalar(1), xi));
    const numer = g.mul(hk, g.add(g.mul(s, g.mul(xi, xi)), g.mul(dk, tau)));
    out = g.add(yk, g.div(numer, g.add(s, g.mul(slopeSum, tau))));
  } else {
    const delta = g.sub(vc, yk);
    const a = g.add(g.mul(hk, g.sub(s, dk)), g.mul(delta, slopeSum));
    const b = g.sub(g.mul(hk, dk), g.mul(delta, slopeSum));
    const c = g.neg(g.mul(s, delta));
    const disc = g.relu(g.sub(g.mul(b, b), g.mul(g.mul(a, c), g.scalar(4))));
    xi = g.div(g.mul(c, g.scalar(2)), g.sub(g.neg(b), g.sqrt(disc)));
    out = g.add(xk, g.mul(xi, wk));
  }
  const ld = logDerivative(g, xi, s, dk, dk1);
  return { out: g.where(inside, out, v), logDet: g.where(inside, ld, g.mul(ld, g.scalar(0))) };
}
