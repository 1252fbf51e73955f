import { Rng } from '@bijective/core';

/**
 * A 2-D Gaussian mixture with a closed-form log-density: the target of the training tests
 * (a trained flow's test NLL minus the mixture's entropy is its KL gap, ≥ 0).
 */
export interface Component {
  weight: number;
  mean: [number, number];
  /** Standard deviations along x and y, and the correlation. */
  std: [number, number];
  rho: number;
}

export const MIXTURE: Component[] = [
  { weight: 0.5, mean: [-1.2, -0.4], std: [0.6, 0.4], rho: 0.5 },
  { weight: 0.3, mean: [1.3, 0.6], std: [0.5, 0.7], rho: -0.3 },
  { weight: 0.2, mean: [0.2, 1.6], std: [0.45, 0.35], rho: 0 },
];

export function mixtureLogDensity(x: number, y: number, mix: readonly Component[] = MIXTURE): number {
  let max = -Infinity;
  const terms = mix.map((c) => {
    const dx = (x - c.mean[0]) / c.std[0];
    const dy = (y - c.mean[1]) / c.std[1];
    const r = 1 - c.rho * c.rho;
    const q = (dx * dx - 2 * c.rho * dx * dy + dy * dy) / r;
    const t = Math.log(c.weight) - Math.log(2 * Math.PI * c.std[0] * c.std[1] * Math.sqrt(r)) - 0.5 * q;
    max = Math.max(max, t);
    return t;
  });
  return max + Math.log(terms.reduce((s, t) => s + Math.exp(t - max), 0));
}

/** `n` samples `[n, 2]` (float64, row-major). */
export function sampleMixture(n: number, seed: number, mix: readonly Component[] = MIXTURE): Float64Array {
  const rng = new Rng(seed);
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    let u = rng.uniform();
    let c = mix[mix.length - 1]!;
    for (const k of mix) {
      if (u < k.weight) {
        c = k;
        break;
      }
      u -= k.weight;
    }
    const a = rng.normal();
    const b = rng.normal();
    out[2 * i] = c.mean[0] + c.std[0] * a;
    out[2 * i + 1] = c.mean[1] + c.std[1] * (c.rho * a + Math.sqrt(1 - c.rho * c.rho) * b);
  }
  return out;
}

/** Differential entropy H = E[−log p] by Monte Carlo over `n` samples, and its standard error. */
export function mixtureEntropy(n: number, seed: number, mix: readonly Component[] = MIXTURE): { entropy: number; stderr: number } {
  const s = sampleMixture(n, seed, mix);
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const v = -mixtureLogDensity(s[2 * i]!, s[2 * i + 1]!, mix);
    sum += v;
    sq += v * v;
  }
  const mean = sum / n;
  return { entropy: mean, stderr: Math.sqrt((sq / n - mean * mean) / n) };
}
