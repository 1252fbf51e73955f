import { createFlow, runReference, traceFlow, Rng, type Flow, type FlowSpec, type Tensor } from '../src/index.js';

/** A flow with every parameter perturbed by N(0, std²), so no layer is the identity. */
export function randomFlow(spec: FlowSpec, seed = 1, std = 0.3): Flow {
  const flow = createFlow(spec, { seed });
  const rng = new Rng(seed + 1000);
  for (const [name, p] of Object.entries(flow.params)) {
    if (flow.paramDecls[name]!.trainable === false) continue;
    for (let i = 0; i < p.data.length; i++) p.data[i]! += std * rng.normal();
  }
  return flow;
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
export function numericalLogDet(flow: Flow, x: Float64Array, event: number[], eps = 1e-5): number {
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
  const z = runReference(flow, graph, { x: { data: batch, shape: [2 * d, ...event] } }).z!.data;
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
