import { createFlow, runReference, traceFlow, Rng, SpecError, type Flow, type FlowSpec, type LayerSpec, type Tensor } from '../src/index.js';
import { perturbParams } from '../src/testing/index.js';

/** A flow with every parameter perturbed by N(0, std²), so no layer is the identity. */
export function randomFlow(spec: FlowSpec, seed = 1, std = 0.3): Flow {
  return perturbParams(createFlow(spec, { seed }), std, seed + 1000);
}

export function randomInput(shape: number[], seed = 2, std = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: new Rng(seed).normals(n, std), shape };
}

export function encode(flow: Flow, x: Tensor) {
  const out = runReference(flow, traceFlow(flow, 'density'), { x });
  return { z: out.z!, logDet: out.logDet!, logProb: out.logProb! };
}

export function decode(flow: Flow, z: { data: Float64Array | Float32Array; shape: readonly number[] }) {
  const out = runReference(flow, traceFlow(flow, 'sample'), { z: { data: z.data, shape: [...z.shape] } });
  return { x: out.x!, logDet: out.logDet! };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** log|det J| of x ↦ z for one example, from a central-difference Jacobian (float64). */
export function numericalLogDet(flow: Flow, x: Float64Array, event: readonly number[], eps = 1e-5, context?: (rows: number) => Tensor): number {
  const d = x.length;
  const graph = traceFlow(flow, 'density');
  // Batch all 2D perturbations into one call.
  const batch = new Float64Array(2 * d * d);
  for (let j = 0; j < d; j++) {
    batch.set(x, 2 * j * d);
    batch.set(x, (2 * j + 1) * d);
    batch[2 * j * d + j]! += eps;
    batch[(2 * j + 1) * d + j]! -= eps;
  }
  const z = runReference(flow, graph, { x: { data: batch, shape: [2 * d, ...event] }, ...(context ? { context: context(2 * d) } : {}) }).z!.data;
  const jac = new Float64Array(d * d); // jac[i, j] = ∂z_i/∂x_j
  for (let j = 0; j < d; j++) for (let i = 0; i < d; i++) jac[i * d + j] = (z[2 * j * d + i]! - z[(2 * j + 1) * d + i]!) / (2 * eps);
  return slogdet(jac, d);
}

export function slogdet(a: Float64Array, n: number): number {
  const m = new Float64Array(a);
  let s = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]!) > Math.abs(m[p * n + k]!)) p = i;
    if (p !== k) for (let j = 0; j < n; j++) [m[k * n + j], m[p * n + j]] = [m[p * n + j]!, m[k * n + j]!];
    const piv = m[k * n + k]!;
    s += Math.log(Math.abs(piv));
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k]! / piv;
      for (let j = k; j < n; j++) m[i * n + j]! -= f * m[k * n + j]!;
    }
  }
  return s;
}

/**
 * A layer the `LayerSpec` type rejects (a misspelled field, a wrong value), for the tests of
 * the run-time checks: what `createFlow` meets in JSON read from disk.
 */
export function rawLayer(layer: object): LayerSpec {
  return layer as LayerSpec;
}

/** A flow spec of `layers` over `event`. */
export function flowSpec(event: number[], layers: LayerSpec[]): FlowSpec {
  return { version: 1, event, layers };
}

/** What the bijection property tests assert on, measured on one flow and batch. */
export interface BijectionReport {
  /** max |decode(encode(x)) − x| over the batch. */
  roundTrip: number;
  /** The density pass's log|det J| at example 0, and the central-difference one. */
  logDet: number;
  numericalLogDet: number;
  /** |logDet − numericalLogDet| / |numericalLogDet|. */
  logDetRelErr: number;
  /** max |sample-direction logDet at z − density-direction logDet at x| over the batch. */
  sampleLogDetErr: number;
  /** Shape of the latent `z` the density pass returned. */
  zShape: number[];
}

/** Round trip, numerical log-det (example 0) and sample-direction log-det of `flow` on `x`. */
export function checkBijection(flow: Flow, x: Tensor): BijectionReport {
  const event = flow.spec.event;
  const d = flow.dim;
  const { z, logDet } = encode(flow, x);
  const back = decode(flow, z);
  const numerical = numericalLogDet(flow, Float64Array.from(x.data.subarray(0, d)), event);
  return {
    roundTrip: maxAbsDiff(back.x.data, x.data),
    logDet: logDet.data[0]!,
    numericalLogDet: numerical,
    logDetRelErr: Math.abs(logDet.data[0]! - numerical) / Math.abs(numerical),
    sampleLogDetErr: maxAbsDiff(back.logDet.data, logDet.data),
    zShape: [...z.shape],
  };
}

/** The SpecError `f` throws (fails the test when it throws none or something else). */
export function specErrorOf(f: () => unknown): SpecError {
  try {
    f();
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error('expected a SpecError, nothing was thrown');
}

/** Per-channel mean and (population) std of a batch `[N, C, ...]`. */
export function channelStats(data: ArrayLike<number>, shape: readonly number[]): { mean: number[]; std: number[] } {
  const [n, c] = shape as [number, number];
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const mean: number[] = [];
  const std: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let i = 0; i < n; i++) for (let k = 0; k < inner; k++) s += data[(i * c + ch) * inner + k]!;
    const m = s / (n * inner);
    let v = 0;
    for (let i = 0; i < n; i++) for (let k = 0; k < inner; k++) v += (data[(i * c + ch) * inner + k]! - m) ** 2;
    mean.push(m);
    std.push(Math.sqrt(v / (n * inner)));
  }
  return { mean, std };
}

/** A 1-D quadrature rule: nodes and weights. */
export interface Quadrature {
  nodes: Float64Array;
  weights: Float64Array;
}

/** Trapezoid rule on `n` equally spaced nodes over `[lo, hi]` (endpoints included). */
export function trapezoid(lo: number, hi: number, n: number): Quadrature {
  const h = (hi - lo) / (n - 1);
  const nodes = Float64Array.from({ length: n }, (_, i) => lo + i * h);
  const weights = Float64Array.from({ length: n }, (_, i) => (i === 0 || i === n - 1 ? h / 2 : h));
  return { nodes, weights };
}

/** Midpoint rule on `n` cells of `[lo, hi]` (endpoints excluded: densities singular there). */
export function midpoint(lo: number, hi: number, n: number): Quadrature {
  const h = (hi - lo) / n;
  return { nodes: Float64Array.from({ length: n }, (_, i) => lo + (i + 0.5) * h), weights: new Float64Array(n).fill(h) };
}

/**
 * The whole real line, by the substitution `x = scale · sinh(t)` and the trapezoid rule in
 * `t ∈ [−tMax, tMax]` (weights `scale · cosh(t) · h`): node spacing ≈ `scale · h` near 0 and
 * growing with |x|, so heavy tails (a flow that scales some region by e⁵) are covered out to
 * `±scale · sinh(tMax)`.
 */
export function sinhLine(scale: number, tMax: number, n: number): Quadrature {
  const t = trapezoid(-tMax, tMax, n);
  return {
    nodes: t.nodes.map((v) => scale * Math.sinh(v)),
    weights: t.weights.map((w, i) => w * scale * Math.cosh(t.nodes[i]!)),
  };
}

/**
 * ∫ exp(logProb) of a 2-D flow on the tensor-product rule `q × q`, every node in one batched
 * call of the reference density graph.
 */
export function integrateDensity2d(flow: Flow, q: Quadrature): number {
  const n = q.nodes.length;
  const points = new Float64Array(2 * n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      points[2 * (i * n + j)] = q.nodes[i]!;
      points[2 * (i * n + j) + 1] = q.nodes[j]!;
    }
  }
  const logProb = runReference(flow, traceFlow(flow, 'density'), { x: { data: points, shape: [n * n, ...flow.spec.event] } }).logProb!.data;
  let total = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) total += q.weights[i]! * q.weights[j]! * Math.exp(logProb[i * n + j]!);
  return total;
}
