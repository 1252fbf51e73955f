import { Rng } from '@bijective/core';

/**
 * A 2-D Gaussian mixture whose density is known in closed form,
 *   p(x) = Σ_k π_k N(x; μ_k, Σ_k),
 * so a flow trained on its samples can be scored against the truth: the test NLL of a
 * model q is a Monte Carlo estimate of the cross-entropy H(p, q) = H(p) + KL(p‖q), and its
 * gap to the entropy H(p) estimates KL(p‖q) ≥ 0.
 */
export interface MixtureComponent {
  weight: number;
  mean: [number, number];
  /** Covariance [[a, b], [b, c]] as [a, b, c]; must be positive definite. */
  cov: [number, number, number];
}

/**
 * The default mixture: five components with unequal weights, correlated covariances and
 * overlapping tails (no component is a trivial axis-aligned blob), spread over [−3, 3]².
 */
export const DEFAULT_MIXTURE: readonly MixtureComponent[] = [
  { weight: 0.3, mean: [-2, -1.5], cov: [0.5, 0.3, 0.4] },
  { weight: 0.2, mean: [2, 2], cov: [0.3, -0.2, 0.6] },
  { weight: 0.2, mean: [0, 0.5], cov: [1.0, 0.0, 0.1] },
  { weight: 0.15, mean: [2.5, -2], cov: [0.2, 0.0, 0.2] },
  { weight: 0.15, mean: [-1.5, 2.5], cov: [0.6, 0.5, 0.6] },
];

interface Prepared {
  logWeight: number;
  mean: [number, number];
  /** Cholesky factor L = [[l11, 0], [l21, l22]] of Σ. */
  l11: number;
  l21: number;
  l22: number;
  /** −log(2π) − log det Σ / 2. */
  logNorm: number;
}

export interface GaussianMixture2D {
  readonly components: readonly MixtureComponent[];
  /** `n` points, row-major `[n, 2]`. */
  sample(n: number, rng: Rng): Float64Array;
  /** log p(x) in nats for each row of `points` (`[n, 2]`, row-major). */
  logDensity(points: ArrayLike<number>): Float64Array;
  /**
   * The differential entropy H(p) = −E_p[log p(x)] in nats, estimated by Monte Carlo with
   * `samples` draws (default 10⁶) from `seed`; `standardError` is the sample standard
   * deviation of −log p over √samples. (No closed form exists for a mixture's entropy.)
   */
  entropy(options?: { samples?: number; seed?: number }): { value: number; standardError: number; samples: number };
}

function prepare(components: readonly MixtureComponent[]): Prepared[] {
  const total = components.reduce((s, c) => s + c.weight, 0);
  if (!(components.length > 0 && components.every((c) => c.weight > 0) && Math.abs(total - 1) < 1e-9)) {
    throw new RangeError(`mixture: weights must be positive and sum to 1, got ${components.map((c) => c.weight).join(', ')}`);
  }
  return components.map((c, k) => {
    const [a, b, cc] = c.cov;
    const l11 = Math.sqrt(a);
    const l21 = b / l11;
    const r = cc - l21 * l21;
    if (!(a > 0 && r > 0)) throw new RangeError(`mixture: component ${k} covariance [${a}, ${b}; ${b}, ${cc}] is not positive definite`);
    const l22 = Math.sqrt(r);
    return { logWeight: Math.log(c.weight), mean: c.mean, l11, l21, l22, logNorm: -Math.log(2 * Math.PI) - Math.log(l11 * l22) };
  });
}

export function gaussianMixture2D(components: readonly MixtureComponent[] = DEFAULT_MIXTURE): GaussianMixture2D {
  const prepared = prepare(components);
  const cumulative = components.map(((s) => (c: MixtureComponent) => (s += c.weight))(0));
  const logDensityAt = (x: number, y: number): number => {
    let max = -Infinity;
    const terms = prepared.map((p) => {
      // Solve L u = x − μ; then log N = logNorm − ‖u‖²/2.
      const u1 = (x - p.mean[0]) / p.l11;
      const u2 = (y - p.mean[1] - p.l21 * u1) / p.l22;
      const t = p.logWeight + p.logNorm - 0.5 * (u1 * u1 + u2 * u2);
      if (t > max) max = t;
      return t;
    });
    let s = 0;
    for (const t of terms) s += Math.exp(t - max);
    return max + Math.log(s);
  };
  const sample = (n: number, rng: Rng): Float64Array => {
    const out = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      let k = cumulative.findIndex((c) => u < c);
      if (k < 0) k = prepared.length - 1;
      const p = prepared[k]!;
      const e1 = rng.normal();
      const e2 = rng.normal();
      out[2 * i] = p.mean[0] + p.l11 * e1;
      out[2 * i + 1] = p.mean[1] + p.l21 * e1 + p.l22 * e2;
    }
    return out;
  };
  return {
    components,
    sample,
    logDensity(points) {
      if (points.length % 2 !== 0) throw new RangeError(`mixture.logDensity: expected [n, 2] points, got ${points.length} values`);
      const out = new Float64Array(points.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = logDensityAt(points[2 * i]!, points[2 * i + 1]!);
      return out;
    },
    entropy({ samples = 1_000_000, seed = 12345 } = {}) {
      const rng = new Rng(seed);
      // Welford's running mean and variance of −log p.
      let mean = 0;
      let m2 = 0;
      const chunk = 10_000;
      let done = 0;
      while (done < samples) {
        const m = Math.min(chunk, samples - done);
        const x = sample(m, rng);
        for (let i = 0; i < m; i++) {
          const v = -logDensityAt(x[2 * i]!, x[2 * i + 1]!);
          done++;
          const d = v - mean;
          mean += d / done;
          m2 += d * (v - mean);
        }
      }
      return { value: mean, standardError: Math.sqrt(m2 / (samples - 1) / samples), samples };
    },
  };
}
