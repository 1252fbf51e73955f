import type { GraphBuilder, Value } from '../graph/graph.js';
import { sumPerExample } from '../graph/ops.js';
import { logNdtr, logNormalPdf, ndtriFromLogs } from '../graph/normal.js';
import { bisect } from '../graph/bisect.js';
import { num, onlyKeys, type Obj } from '../flow/fields.js';
import { sizeOf } from '../tensor.js';
import { defineLayer, type LayerContext, type WithDefaults } from './layer.js';

/**
 * Trainable marginal Gaussianization (Gaussianization flows, Meng, Song, Song & Ermon 2020,
 * https://arxiv.org/abs/2003.01941, §3): every element of the event gets its own mixture of K
 * logistic CDFs, F(x) = Σ_k w_k σ((x − μ_k)/s_k) with learned means μ, log-bandwidths log s
 * and softmax weights w, and is pushed through the standard normal quantile:
 *
 *   forward  y = Φ⁻¹(F(x));
 *   inverse  x = F⁻¹(Φ(y)), by bisection ({@link bisect});
 *   log|det ∂y/∂x| = Σ_d [log p_F(x_d) − log φ(y_d)],
 *   p_F(x) = Σ_k w_k σ(t_k)σ(−t_k)/s_k, t_k = (x − μ_k)/s_k.
 *
 * Everything is in logs so both tails keep their precision: log F = LSE_k(log w_k + log σ(t_k)),
 * log(1 − F) = LSE_k(log w_k + log σ(−t_k)) (LSE the max-shifted log-sum-exp over k), and
 * Φ⁻¹ takes both ({@link ndtriFromLogs}), so x = ±1000 still maps to a finite y.
 *
 * Inverse: with L = logit Φ(y) = log Φ(y) − log Φ(−y), the root of the increasing residual
 * logit F(x) − L lies in [min_k(μ_k + s_k L), max_k(μ_k + s_k L)] (at the left end every
 * component CDF is ≤ Φ(y), at the right end ≥), which `inverseIterations` halvings (default
 * 50) shrink by 2^−50: float32 precision for brackets up to ~10⁸ ulps, and within
 * width·2^−51 (≈ 1e-14 for a width of 20) in float64.
 *
 * Initialisation (the paper's KDE initialisation, §3.3): in the data-init pass
 * (`traceFlow(..., { dataInit: true })`, as ActNorm) a layer whose `initialized` flag is 0
 * puts μ_k at the batch's empirical (k + ½)/K quantiles per element — data points, the
 * order statistics x_(⌈(k+½)N/K⌉), found by bisection on the batch's empirical CDF — with
 * equal weights and the Silverman bandwidth of K kernels, s = 1.06·σ̂·K^(−1/5)·√3/π (a
 * Gaussian kernel's standard deviation turned into a logistic scale of the same variance).
 * Without data the means start at the quantiles of the unit-variance logistic and the
 * bandwidth at that of σ̂ = 1.
 *
 * @example { "type": "gaussianize", "components": 8 }
 */
export interface GaussianizeSpec {
  type: 'gaussianize';
  /** K, the mixture components per element. */
  components: number;
  /** Bisection halvings of the inverse. */
  inverseIterations: number;
}

/** A Gaussianization layer as written in a spec (8 components, 50 inverse iterations by default). */
export type GaussianizeInput = WithDefaults<GaussianizeSpec, 'components' | 'inverseIterations'>;

/** Logistic scale with the variance of a unit Gaussian kernel: √3/π. */
const LOGISTIC_PER_SD = Math.sqrt(3) / Math.PI;
/** Halvings of the data-init quantile search on [min x, max x + 1]. */
const QUANTILE_ITERATIONS = 40;
/** Floor of the initial bandwidth (a constant element of the batch). */
const BANDWIDTH_EPS = 1e-6;

/** Silverman's rule for K kernels, as a logistic scale per unit standard deviation. */
const bandwidthPerSd = (k: number) => 1.06 * Math.pow(k, -0.2) * LOGISTIC_PER_SD;

const min = (g: GraphBuilder, a: Value, axes: number[]) => g.neg(g.max(g.neg(a), axes));

/** log Σ_k exp(a_k) over the last axis, shifted by the max, the axis dropped. */
function logSumExpLast(g: GraphBuilder, a: Value): Value {
  const last = a.shape.length - 1;
  const m = g.max(a, [last], true);
  const s = g.log(g.sum(g.exp(g.sub(a, m)), [last]));
  return g.add(g.reshape(m, a.shape.slice(0, last)), s);
}

/** x `[N, ...event]` → `[N, ...event, 1]`, to broadcast against per-component `[...event, K]`. */
const expand = (g: GraphBuilder, x: Value) => g.reshape(x, [...x.shape, 1]);

interface Mixture {
  means: Value;
  logScales: Value;
  /** log w, normalised (log-softmax of the logits). */
  logWeights: Value;
}

function mixtureOf(g: GraphBuilder, means: Value, logScales: Value, logits: Value): Mixture {
  const last = logits.shape.length - 1;
  const logWeights = g.sub(logits, g.reshape(logSumExpLast(g, logits), [...logits.shape.slice(0, last), 1]));
  return { means, logScales, logWeights };
}

/** log F(x), log(1 − F(x)) and, when asked, log p_F(x), each `[N, ...event]`. */
function logCdfs(g: GraphBuilder, m: Mixture, x: Value, withDensity: boolean): { logF: Value; log1mF: Value; logPdf: Value | null } {
  const t = g.mul(g.sub(expand(g, x), m.means), g.exp(g.neg(m.logScales)));
  // log σ(t) = −relu(−t) − log(1 + e^−|t|), log σ(−t) = −relu(t) − log(1 + e^−|t|).
  const soft = g.log(g.add(g.scalar(1), g.exp(g.neg(g.abs(t)))));
  const logSig = g.sub(g.neg(g.relu(g.neg(t))), soft);
  const logSigNeg = g.sub(g.neg(g.relu(t)), soft);
  const logF = logSumExpLast(g, g.add(m.logWeights, logSig));
  const log1mF = logSumExpLast(g, g.add(m.logWeights, logSigNeg));
  // log σ(t) + log σ(−t) = −|t| − 2 log(1 + e^−|t|), built apart from logSig and logSigNeg: a sum
  // of two values that each feed another op too trips tfjs' tape (their shared gradient is freed).
  const logPdf = withDensity
    ? logSumExpLast(g, g.sub(g.sub(m.logWeights, m.logScales), g.add(g.abs(t), g.mul(soft, g.scalar(2)))))
    : null;
  return { logF, log1mF, logPdf };
}

/** The trainable mixture, or, in the data-init pass of an uninitialised layer, the one fitted to the batch `x`. */
function mixture(ctx: LayerContext, spec: GaussianizeSpec, x: Value | null): Mixture {
  const g = ctx.g;
  if (x === null || !ctx.dataInit || ctx.paramValue('initialized')[0] !== 0) {
    return mixtureOf(g, ctx.param('means'), ctx.param('logScales'), ctx.param('logits'));
  }
  const k = spec.components;
  const event = x.shape.slice(1) as number[];
  const size = sizeOf(event);
  const zeros = g.constant(new Array<number>(size * k).fill(0), [...event, k]);
  const perComponent = (v: Value) => g.add(g.reshape(v, [...event, 1]), zeros);
  const lo = min(g, x, [0]);
  const hi = g.add(g.max(x, [0]), g.scalar(1));
  const q = g.constant(Array.from({ length: k }, (_, i) => (i + 0.5) / k), [k]);
  // The empirical CDF G(t) = #{x_n < t}/N is non-decreasing: bisection on G(t) − q lands on an order statistic.
  const means = bisect(g, {
    lo: perComponent(lo),
    hi: perComponent(hi),
    invariants: [x, q],
    iterations: QUANTILE_ITERATIONS,
    residual: (b, t, [data, levels]) => {
      const below = b.where(b.less(expand(b, data!), t), b.scalar(1), b.scalar(0));
      return b.sub(b.mean(below, [0]), levels!);
    },
  });
  const centred = g.sub(x, g.mean(x, [0], true));
  const sd = g.sqrt(g.mean(g.mul(centred, centred), [0]));
  const logScales = perComponent(g.log(g.add(g.mul(sd, g.scalar(bandwidthPerSd(k))), g.scalar(BANDWIDTH_EPS))));
  const logits = zeros;
  ctx.setInit('means', means);
  ctx.setInit('logScales', logScales);
  ctx.setInit('logits', logits);
  ctx.setInit('initialized', g.constant([1], [1]));
  return mixtureOf(g, means, logScales, logits);
}

export const gaussianize = defineLayer<GaussianizeSpec>({
  type: 'gaussianize',
  parse(o: Obj, path) {
    onlyKeys(o, path, ['type', 'components', 'inverseIterations']);
    return {
      type: 'gaussianize',
      components: num(o, 'components', path, { int: true, min: 1, max: 1024, default: 8 }),
      inverseIterations: num(o, 'inverseIterations', path, { int: true, min: 1, max: 200, default: 50 }),
    };
  },
  outShape: (_, s) => [...s],
  params(spec, inShape) {
    const k = spec.components;
    const size = sizeOf(inShape);
    const shape = [...inShape, k];
    // Quantiles of the unit-variance logistic at (k + ½)/K, repeated per element.
    const spread = Array.from({ length: k }, (_, i) => Math.log((i + 0.5) / (k - i - 0.5)) * LOGISTIC_PER_SD);
    return {
      means: { shape, init: () => Float64Array.from({ length: size * k }, (_, i) => spread[i % k]!) },
      logScales: { shape, init: () => new Float64Array(size * k).fill(Math.log(bandwidthPerSd(k))) },
      logits: { shape, init: () => new Float64Array(size * k) },
      initialized: { shape: [1], init: () => new Float64Array(1), trainable: false },
    };
  },
  forward(ctx, spec, x) {
    const g = ctx.g;
    const m = mixture(ctx, spec, x);
    const { logF, log1mF, logPdf } = logCdfs(g, m, x, true);
    const y = ndtriFromLogs(g, logF, log1mF);
    return { out: y, logDet: sumPerExample(g, g.sub(logPdf!, logNormalPdf(g, y))) };
  },
  inverse(ctx, spec, y) {
    const g = ctx.g;
    const m = mixture(ctx, spec, null);
    const logit = g.sub(logNdtr(g, y), logNdtr(g, g.neg(y)));
    const ends = g.add(m.means, g.mul(g.exp(m.logScales), expand(g, logit)));
    const last = ends.shape.length - 1;
    const x = bisect(g, {
      lo: min(g, ends, [last]),
      hi: g.max(ends, [last]),
      invariants: [logit, m.means, m.logScales, m.logWeights],
      iterations: spec.inverseIterations,
      residual: (b, v, [target, means, logScales, logWeights]) => {
        const c = logCdfs(b, { means: means!, logScales: logScales!, logWeights: logWeights! }, v, false);
        return b.sub(b.sub(c.logF, c.log1mF), target!);
      },
    });
    const { logPdf } = logCdfs(g, m, x, true);
    return { out: x, logDet: sumPerExample(g, g.sub(logPdf!, logNormalPdf(g, y))) };
  },
});
