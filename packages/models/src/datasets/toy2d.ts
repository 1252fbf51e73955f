import type { Rng } from '@bijective/core';

/**
 * Two-dimensional toy densities, the standard set of the flow literature (as in FFJORD,
 * Grathwohl et al. 2019, https://arxiv.org/abs/1810.01367, `lib/toy_data.py`). Each generator
 * draws `n` points, row-major `[n, 2]`, from a seeded {@link Rng}, so a seed gives the same
 * points on every machine. All are scaled to lie mostly within [−4, 4]².
 */
export type ToyGenerator = (n: number, rng: Rng) => Float64Array;

/** Two interleaved half circles (scikit-learn's `make_moons`, noise 0.1), then `2x + (−1, −0.2)` as in FFJORD. */
export const moons: ToyGenerator = (n, rng) => {
  const out = new Float64Array(2 * n);
  const outer = Math.ceil(n / 2);
  for (let i = 0; i < n; i++) {
    const upper = i < outer;
    const t = Math.PI * rng.uniform();
    const x = upper ? Math.cos(t) : 1 - Math.cos(t);
    const y = upper ? Math.sin(t) : 0.5 - Math.sin(t);
    out[2 * i] = 2 * (x + 0.1 * rng.normal()) - 1;
    out[2 * i + 1] = 2 * (y + 0.1 * rng.normal()) - 0.2;
  }
  return out;
};

/** Two concentric circles of radii 3 and 1.5 (`make_circles`, factor 0.5, noise 0.08, ×3). */
export const circles: ToyGenerator = (n, rng) => {
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const r = i % 2 === 0 ? 1 : 0.5;
    const t = 2 * Math.PI * rng.uniform();
    out[2 * i] = 3 * (r * Math.cos(t) + 0.08 * rng.normal());
    out[2 * i + 1] = 3 * (r * Math.sin(t) + 0.08 * rng.normal());
  }
  return out;
};

/** Eight Gaussians (std 0.5) on a circle of radius 4, then scaled by 1/1.414. */
export const eightGaussians: ToyGenerator = (n, rng) => {
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const k = rng.int(8);
    const angle = (k * Math.PI) / 4;
    out[2 * i] = (4 * Math.cos(angle) + 0.5 * rng.normal()) / 1.414;
    out[2 * i + 1] = (4 * Math.sin(angle) + 0.5 * rng.normal()) / 1.414;
  }
  return out;
};

/** A 4×4 checkerboard on [−4, 4]², uniform on the 8 dark squares. */
export const checkerboard: ToyGenerator = (n, rng) => {
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const x1 = 4 * rng.uniform() - 2;
    const x2 = rng.uniform() - 2 * rng.int(2) + (((Math.floor(x1) % 2) + 2) % 2);
    out[2 * i] = 2 * x1;
    out[2 * i + 1] = 2 * x2;
  }
  return out;
};

/** Five curved arms (radial std 0.3, tangential std 0.1, rate 0.25), ×2. */
export const pinwheel: ToyGenerator = (n, rng) => {
  const out = new Float64Array(2 * n);
  const arms = 5;
  for (let i = 0; i < n; i++) {
    const f0 = 0.3 * rng.normal() + 1;
    const f1 = 0.1 * rng.normal();
    const angle = (2 * Math.PI * (i % arms)) / arms + 0.25 * Math.exp(f0);
    const [c, s] = [Math.cos(angle), Math.sin(angle)];
    out[2 * i] = 2 * (f0 * c + f1 * s);
    out[2 * i + 1] = 2 * (-f0 * s + f1 * c);
  }
  return out;
};

/** Two interleaved spirals (mirror images), radius up to ≈ 3.1, noise 0.1. */
export const twoSpirals: ToyGenerator = (n, rng) => {
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = (Math.sqrt(rng.uniform()) * 540 * 2 * Math.PI) / 360;
    const sign = i % 2 === 0 ? 1 : -1;
    const x = -Math.cos(t) * t + 0.5 * rng.uniform();
    const y = Math.sin(t) * t + 0.5 * rng.uniform();
    out[2 * i] = (sign * x) / 3 + 0.1 * rng.normal();
    out[2 * i + 1] = (sign * y) / 3 + 0.1 * rng.normal();
  }
  return out;
};

export const toyGenerators: Readonly<Record<string, ToyGenerator>> = {
  moons,
  circles,
  '8gaussians': eightGaussians,
  checkerboard,
  pinwheel,
  '2spirals': twoSpirals,
};
