import type { FlowRuntime, Tensor } from '@bijective/core';

/**
 * Latent-space operations on a trained flow (browser-safe: only a {@link FlowRuntime}):
 * interpolation along straight or spherical paths, attribute directions as the difference of
 * two groups' mean latents (Glow's "smile vector", Kingma & Dhariwal 2018, §5), an image moved
 * along such a direction, and temperature sweeps.
 *
 * Latents of a flow with a standard normal base concentrate on a shell of radius ≈ √D; the
 * straight line between two of them passes inside it (its midpoint has norm ≈ √(D/2) for
 * independent endpoints), where a Glow decodes faded, low-contrast images. A spherical path
 * keeps the norm.
 */
export type LatentPath = 'linear' | 'slerp';

export const LATENT_PATHS: readonly LatentPath[] = ['slerp', 'linear'];

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: the endpoints have ${a.length} and ${b.length} values; they must match`);
}

/**
 * The spherical interpolation between `a` and `b` at `t` ∈ [0, 1]: the direction moves along
 * the great circle from â to b̂ at constant angular speed, the norm goes linearly from |a| to
 * |b| (so equal-norm endpoints give a path of constant norm). Endpoints at an angle below 1e-7
 * rad are interpolated linearly (the circle is a line there); opposite endpoints have no
 * unique great circle and are a RangeError.
 */
export function slerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float64Array {
  checkSameLength(a, b, 'slerp');
  const out = new Float64Array(a.length);
  const na = norm(a);
  const nb = norm(b);
  if (na === 0 || nb === 0) {
    for (let i = 0; i < a.length; i++) out[i] = (1 - t) * a[i]! + t * b[i]!;
    return out;
  }
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  const omega = Math.acos(Math.min(1, Math.max(-1, dot / (na * nb))));
  if (Math.PI - omega < 1e-7) throw new RangeError('slerp: the endpoints point in opposite directions; the spherical path between them is not unique');
  const r = (1 - t) * na + t * nb;
  if (omega < 1e-7) {
    for (let i = 0; i < a.length; i++) out[i] = r * ((1 - t) * a[i]! / na + (t * b[i]!) / nb);
    return out;
  }
  const wa = Math.sin((1 - t) * omega) / Math.sin(omega);
  const wb = Math.sin(t * omega) / Math.sin(omega);
  for (let i = 0; i < a.length; i++) out[i] = r * ((wa * a[i]!) / na + (wb * b[i]!) / nb);
  return out;
}

/** `frames` points (both ends included) on the `path` from `a` to `b`, row-major `[frames, D]`. */
export function latentPath(a: ArrayLike<number>, b: ArrayLike<number>, frames: number, path: LatentPath = 'slerp'): Float64Array {
  checkSameLength(a, b, 'latentPath');
  if (!(Number.isInteger(frames) && frames >= 1)) throw new RangeError(`latentPath: frames must be a positive integer, got ${frames}`);
  if (!LATENT_PATHS.includes(path)) throw new RangeError(`latentPath: path must be one of ${LATENT_PATHS.join(', ')}, got '${String(path)}'`);
  const d = a.length;
  const out = new Float64Array(frames * d);
  for (let f = 0; f < frames; f++) {
    const t = frames === 1 ? 0 : f / (frames - 1);
    if (path === 'slerp') out.set(slerp(a, b, t), f * d);
    else for (let i = 0; i < d; i++) out[f * d + i] = (1 - t) * a[i]! + t * b[i]!;
  }
  return out;
}

/** The mean of `n` rows of `d` values (row-major). */
export function meanRow(rows: ArrayLike<number>, n: number, d: number): Float64Array {
  if (!(n >= 1) || rows.length !== n * d) throw new RangeError(`meanRow: ${n} rows of ${d} need ${n * d} values, got ${rows.length}`);
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) mean[i]! += rows[r * d + i]!;
  for (let i = 0; i < d; i++) mean[i]! /= n;
  return mean;
}

/** The batches of at most `batch` examples that `f` maps to latents, concatenated `[n, D]`. */
async function encodeAll(runtime: FlowRuntime, x: Tensor, batch: number): Promise<Float64Array> {
  const n = x.shape[0]!;
  const d = x.data.length / n;
  const out = new Float64Array(n * d);
  for (let at = 0; at < n; at += batch) {
    const m = Math.min(batch, n - at);
    const { z } = await runtime.encode({ data: x.data.subarray(at * d, (at + m) * d), shape: [m, ...x.shape.slice(1)] });
    out.set(z.data, at * d);
  }
  return out;
}

/**
 * The attribute direction from group B to group A: mean f(x) over the examples of A minus
 * mean f(x) over those of B (`[n, ...event]` each), in the flow's canonical latent layout.
 * Moving a latent by +1 of it moves it from B's mean to A's.
 */
export async function attributeDirection(runtime: FlowRuntime, groupA: Tensor, groupB: Tensor, options: { batch?: number } = {}): Promise<Float64Array> {
  const batch = options.batch ?? 256;
  const [na, nb] = [groupA.shape[0]!, groupB.shape[0]!];
  if (!(na >= 1 && nb >= 1)) throw new RangeError(`attributeDirection: each group needs at least one example, got ${na} and ${nb}`);
  const d = groupA.data.length / na;
  if (groupB.data.length / nb !== d) throw new RangeError(`attributeDirection: the groups' examples have ${d} and ${groupB.data.length / nb} values; they must match`);
  const ma = meanRow(await encodeAll(runtime, groupA, batch), na, d);
  const mb = meanRow(await encodeAll(runtime, groupB, batch), nb, d);
  return ma.map((v, i) => v - mb[i]!);
}

/** `steps` latents `z + α·direction` for α evenly from 0 to `scale` (both included), `[steps, D]`. */
export function alongDirection(z: ArrayLike<number>, direction: ArrayLike<number>, steps: number, scale: number): Float64Array {
  checkSameLength(z, direction, 'alongDirection');
  if (!(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`alongDirection: steps must be a positive integer, got ${steps}`);
  if (!Number.isFinite(scale)) throw new RangeError(`alongDirection: scale must be a finite number, got ${scale}`);
  const d = z.length;
  const out = new Float64Array(steps * d);
  for (let s = 0; s < steps; s++) {
    const alpha = steps === 1 ? scale : (scale * s) / (steps - 1);
    for (let i = 0; i < d; i++) out[s * d + i] = z[i]! + alpha * direction[i]!;
  }
  return out;
}

/** One example `[1, ...event]` encoded, moved along `direction` (see {@link alongDirection}) and decoded: `[steps, ...event]`, frame 0 the reconstruction. */
export async function editAlong(runtime: FlowRuntime, x: Tensor, direction: ArrayLike<number>, options: { steps: number; scale: number }): Promise<Tensor> {
  if (x.shape[0] !== 1) throw new RangeError(`editAlong: expects one example [1, ...event], got shape [${x.shape.join(', ')}]`);
  const { z } = await runtime.encode(x);
  return runtime.decode({ data: alongDirection(z.data, direction, options.steps, options.scale), shape: [options.steps, ...x.shape.slice(1)] });
}

/** Two examples `[2, ...event]` encoded and the `path` between their latents decoded: `[frames, ...event]`. */
export async function interpolateExamples(runtime: FlowRuntime, x: Tensor, options: { frames: number; path?: LatentPath }): Promise<Tensor> {
  if (x.shape[0] !== 2) throw new RangeError(`interpolateExamples: expects two examples [2, ...event], got shape [${x.shape.join(', ')}]`);
  const { z } = await runtime.encode(x);
  const d = z.data.length / 2;
  const zs = latentPath(z.data.subarray(0, d), z.data.subarray(d), options.frames, options.path ?? 'slerp');
  return runtime.decode({ data: zs, shape: [options.frames, ...x.shape.slice(1)] });
}

/**
 * `n` samples at each of `temperatures`, the same base noise (from `seed`) scaled by each:
 * `[temperatures.length · n, ...event]`, one temperature after another (a grid with `n`
 * columns has one row per temperature).
 */
export async function temperatureSweep(runtime: FlowRuntime, options: { n: number; temperatures: readonly number[]; seed?: number; context?: Tensor }): Promise<Tensor> {
  const { n, temperatures } = options;
  if (temperatures.length === 0) throw new RangeError('temperatureSweep: needs at least one temperature');
  const bad = temperatures.find((t) => !(Number.isFinite(t) && t >= 0));
  if (bad !== undefined) throw new RangeError(`temperatureSweep: temperatures must be finite numbers >= 0, got ${bad}`);
  const rows: Tensor[] = [];
  for (const temperature of temperatures) rows.push(await runtime.sample({ n, temperature, seed: options.seed ?? 0, ...(options.context ? { context: options.context } : {}) }));
  const size = rows[0]!.data.length;
  const data = new Float64Array(temperatures.length * size);
  rows.forEach((r, i) => data.set(r.data, i * size));
  return { data, shape: [temperatures.length * n, ...rows[0]!.shape.slice(1)] };
}
