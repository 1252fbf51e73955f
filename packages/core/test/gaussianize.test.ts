import { describe, expect, it } from 'vitest';
import {
  GraphBuilder,
  GraphError,
  Rng,
  bisect,
  createFlow,
  initializeFromData,
  runGraph,
  type Flow,
  type LayerSpec,
  type Tensor,
} from '../src/index.js';
import { erf } from '../src/reference/erf.js';
import { decode, encode, flowSpec, integrateDensity2d, maxAbsDiff, numericalLogDet, randomFlow, randomInput, rawLayer, sinhLine, specErrorOf } from './helpers.js';

const gf = (d: number, layers: LayerSpec[], seed = 3, std = 0.3): Flow => randomFlow(flowSpec([d], layers), seed, std);

/** log p of one standard-normal-base 1-D mixture of logistics, pushed through Φ⁻¹, by hand in float64. */
function mixtureCdf(x: number, means: ArrayLike<number>, logScales: ArrayLike<number>, logits: ArrayLike<number>, offset: number, k: number) {
  let z = 0;
  for (let j = 0; j < k; j++) z += Math.exp(logits[offset + j]!);
  let f = 0;
  let p = 0;
  for (let j = 0; j < k; j++) {
    const w = Math.exp(logits[offset + j]!) / z;
    const s = Math.exp(logScales[offset + j]!);
    const sig = 1 / (1 + Math.exp(-(x - means[offset + j]!) / s));
    f += w * sig;
    p += (w * sig * (1 - sig)) / s;
  }
  return { f, p };
}

describe('bisect', () => {
  it('solves a monotone equation to the bound (hi − lo)·2^−(n+1) and checks its arguments', () => {
    // x³ + x = c on [−10, 10]: 40 halvings leave 20·2^−41 ≈ 9.1e-12.
    const g = new GraphBuilder();
    const c = g.input('c', ['N', 3]);
    const lo = g.add(g.mul(c, g.scalar(0)), g.scalar(-10));
    const hi = g.add(g.mul(c, g.scalar(0)), g.scalar(10));
    g.output('x', bisect(g, { lo, hi, invariants: [c], iterations: 40, residual: (b, x, [t]) => b.sub(b.add(b.mul(b.mul(x, x), x), x), t!) }));
    const targets = [-500, -2, 0.3, 1, 7, 900];
    const out = runGraph(g.build(), { params: {}, inputs: { c: { data: Float64Array.from(targets), shape: [2, 3] } }, batch: 2 }).x!;
    const bound = 20 * 2 ** -41;
    targets.forEach((t, i) => {
      const x = out.data[i]!;
      // |x − x*| ≤ bound and f'(x) ≥ 1, so |f(x) − t| ≤ f'·bound for f' ≤ 3·10² + 1.
      expect(Math.abs(x ** 3 + x - t)).toBeLessThan((3 * x * x + 1) * bound * 1.01);
    });
    const g2 = new GraphBuilder();
    const a = g2.input('a', ['N', 2]);
    const b2 = g2.input('b', ['N', 3]);
    expect(() => bisect(g2, { lo: a, hi: b2, invariants: [], iterations: 5, residual: (_, x) => x })).toThrow(GraphError);
    expect(() => bisect(g2, { lo: a, hi: a, invariants: [], iterations: 0, residual: (_, x) => x })).toThrow(/iterations 0/);
  });
});

describe('gaussianize', () => {
  it('matches the mixture CDF and density computed by hand', () => {
    const flow = gf(2, [{ type: 'gaussianize', components: 3 }]);
    const x = { data: Float64Array.from([-1.3, 0.4, 2.2, -0.05]), shape: [2, 2] };
    const { z, logDet } = encode(flow, x);
    const { means, logScales, logits } = { means: flow.params['layers.0.means']!.data, logScales: flow.params['layers.0.logScales']!.data, logits: flow.params['layers.0.logits']!.data };
    for (let n = 0; n < 2; n++) {
      let ld = 0;
      for (let d = 0; d < 2; d++) {
        const { f, p } = mixtureCdf(x.data[n * 2 + d]!, means, logScales, logits, d * 3, 3);
        // Φ(z) = F(x), 1e-12 absolute on F ∈ (0, 1) (Cephes' float64 erf).
        const zv = z.data[n * 2 + d]!;
        const phi = 0.5 * (1 + erf(zv / Math.SQRT2));
        expect(Math.abs(phi - f)).toBeLessThan(1e-12);
        ld += Math.log(p) + 0.5 * zv * zv + 0.5 * Math.log(2 * Math.PI);
      }
      expect(Math.abs(logDet.data[n]! - ld)).toBeLessThan(1e-12);
    }
  });

  it('inverts by bisection to 1e-10 in float64 and its log-det matches the numerical Jacobian', () => {
    const d = 4;
    const flow = gf(d, [{ type: 'gaussianize', components: 5 }]);
    const x = randomInput([16, d], 5, 2);
    const { z, logDet } = encode(flow, x);
    const back = decode(flow, z);
    expect(maxAbsDiff(back.x.data, x.data)).toBeLessThan(1e-10);
    expect(maxAbsDiff(back.logDet.data, logDet.data)).toBeLessThan(1e-9);
    for (const n of [0, 7]) {
      const num = numericalLogDet(flow, Float64Array.from(x.data.subarray(n * d, (n + 1) * d)), [d], 1e-5);
      expect(Math.abs(num - logDet.data[n]!)).toBeLessThan(1e-7 * Math.max(1, Math.abs(num)));
    }
  });

  it('stays exact in the tails: x = ±10, ±1000 and z = ±10', () => {
    const flow = gf(2, [{ type: 'gaussianize', components: 4 }]);
    const x = { data: Float64Array.from([-10, 10, -1000, 1000]), shape: [2, 2] };
    const { z, logDet } = encode(flow, x);
    for (const v of [...z.data, ...logDet.data]) expect(Number.isFinite(v)).toBe(true);
    // log Φ(z) = log F(x) for the lower tail, by hand (log F ≈ LSE of log w + log σ, no cancellation).
    const p = flow.params;
    const { f } = mixtureCdf(-10, p['layers.0.means']!.data, p['layers.0.logScales']!.data, p['layers.0.logits']!.data, 0, 4);
    expect(z.data[0]!).toBeLessThan(-2);
    expect(Math.abs(logPhi(z.data[0]!) - Math.log(f)) / Math.abs(Math.log(f))).toBeLessThan(1e-10);
    expect(maxAbsDiff(decode(flow, { data: z.data.subarray(0, 2), shape: [1, 2] }).x.data, [-10, 10])).toBeLessThan(1e-9);
    const num = numericalLogDet(flow, Float64Array.from([-10, 10]), [2], 1e-5);
    expect(Math.abs(num - logDet.data[0]!)).toBeLessThan(1e-6 * Math.abs(num));
    const zt = { data: Float64Array.from([-10, 10, 10, -10]), shape: [2, 2] };
    const xt = decode(flow, zt);
    const again = encode(flow, { data: Float64Array.from(xt.x.data), shape: [2, 2] });
    expect(maxAbsDiff(again.z.data, zt.data)).toBeLessThan(1e-8);
    expect(maxAbsDiff(again.logDet.data, xt.logDet.data)).toBeLessThan(1e-8);
  });

  it('initialises its means at quantiles of the batch (data points) and its bandwidth by Silverman', () => {
    const k = 4;
    const flow = createFlow(flowSpec([2], [{ type: 'gaussianize', components: k }]), { seed: 1 });
    const rng = new Rng(9);
    const n = 200;
    const data = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      data[2 * i] = 5 + 3 * rng.normal();
      data[2 * i + 1] = rng.uniform() < 0.5 ? -4 + 0.5 * rng.normal() : 4 + 0.5 * rng.normal();
    }
    const x: Tensor = { data: Float64Array.from(Float32Array.from(data)), shape: [n, 2] };
    expect(initializeFromData(flow, x)).toBe(true);
    const means = flow.params['layers.0.means']!.data;
    for (let d = 0; d < 2; d++) {
      const sorted = Array.from({ length: n }, (_, i) => x.data[2 * i + d]!).sort((a, b) => a - b);
      for (let j = 0; j < k; j++) {
        // The order statistic x_(m), m = ⌈(j + ½)N/K⌉ (1-based), to float32.
        const m = Math.ceil(((j + 0.5) * n) / k);
        expect(Math.abs(means[d * k + j]! - sorted[m - 1]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(sorted[m - 1]!)));
      }
      const mean = sorted.reduce((a, b) => a + b, 0) / n;
      const sd = Math.sqrt(sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
      const s = 1.06 * sd * k ** -0.2 * (Math.sqrt(3) / Math.PI);
      expect(Math.abs(Math.exp(flow.params['layers.0.logScales']!.data[d * k]!) - s)).toBeLessThan(1e-5 * s);
    }
    expect(flow.params['layers.0.initialized']!.data[0]).toBe(1);
    expect(initializeFromData(flow, x)).toBe(false);
  });

  it('rejects bad fields with the path and what was expected', () => {
    expect(specErrorOf(() => createFlow(flowSpec([2], [{ type: 'gaussianize', components: 0 }]))).path).toBe('spec.layers[0].components');
    expect(specErrorOf(() => createFlow(flowSpec([2], [{ type: 'gaussianize', inverseIterations: 2.5 }]))).message).toMatch(/expected an integer/);
    expect(specErrorOf(() => createFlow(flowSpec([2], [rawLayer({ type: 'gaussianize', bandwidth: 1 })]))).path).toBe('spec.layers[0].bandwidth');
    expect(createFlow(flowSpec([2], [{ type: 'gaussianize' }])).spec.layers[0]).toEqual({ type: 'gaussianize', components: 8, inverseIterations: 50 });
  });
});

describe('householder', () => {
  it('is orthogonal: round trip to 1e-10, log-det 0 against the numerical Jacobian, norms kept', () => {
    const d = 5;
    const flow = gf(d, [{ type: 'householder', reflections: 3 }]);
    const x = randomInput([8, d], 4);
    const { z, logDet } = encode(flow, x);
    expect(maxAbsDiff(decode(flow, z).x.data, x.data)).toBeLessThan(1e-10);
    expect(maxAbsDiff(logDet.data, new Float64Array(8))).toBe(0);
    expect(Math.abs(numericalLogDet(flow, Float64Array.from(x.data.subarray(0, d)), [d]))).toBeLessThan(1e-9);
    for (let n = 0; n < 8; n++) {
      const norm = (t: ArrayLike<number>) => Math.hypot(...Array.from({ length: d }, (_, i) => t[n * d + i]!));
      expect(Math.abs(norm(z.data) - norm(x.data))).toBeLessThan(1e-12);
    }
    // One reflection maps its own vector to its negative.
    const one = gf(3, [{ type: 'householder', reflections: 1 }]);
    const v = one.params['layers.0.vectors']!.data;
    const zv = encode(one, { data: Float64Array.from(v), shape: [1, 3] }).z.data;
    expect(maxAbsDiff(zv, Array.from(v, (t) => -t))).toBeLessThan(1e-6);
  });

  it('works on vectors only and validates reflections', () => {
    expect(specErrorOf(() => createFlow(flowSpec([1, 2, 2], [{ type: 'householder' }]))).message).toMatch(/works on vectors/);
    expect(specErrorOf(() => createFlow(flowSpec([2], [{ type: 'householder', reflections: 0 }]))).path).toBe('spec.layers[0].reflections');
  });
});

describe('a Gaussianization flow', () => {
  const layers: LayerSpec[] = [
    { type: 'gaussianize', components: 4 },
    { type: 'householder', reflections: 2 },
    { type: 'gaussianize', components: 3 },
    { type: 'householder', reflections: 2 },
    { type: 'gaussianize', components: 4 },
  ];

  it('has a 2-D density that integrates to 1 within 1e-3', () => {
    // Measured: 1 − 6e-7 on this grid (|x| up to 68); the tails are logistic, e^−|x|/s.
    const flow = gf(2, layers.slice(0, 3), 5, 0.3);
    const total = integrateDensity2d(flow, sinhLine(1.5, 4.5, 121));
    expect(Math.abs(total - 1)).toBeLessThan(1e-3);
  });

  it('round-trips to 1e-9 and matches the numerical log-det', () => {
    const flow = gf(2, layers, 6, 0.3);
    const x = randomInput([32, 2], 8, 1.5);
    const { z, logDet } = encode(flow, x);
    const back = decode(flow, z);
    expect(maxAbsDiff(back.x.data, x.data)).toBeLessThan(1e-9);
    expect(maxAbsDiff(back.logDet.data, logDet.data)).toBeLessThan(1e-8);
    const num = numericalLogDet(flow, Float64Array.from(x.data.subarray(0, 2)), [2], 1e-5);
    expect(Math.abs(num - logDet.data[0]!)).toBeLessThan(1e-7 * Math.max(1, Math.abs(num)));
  });
});

/** log Φ(z) for z < −2 through the continued fraction of erfc (float64, ~1e-15 relative for z ≤ −2). */
function logPhi(z: number): number {
  const t = -z / Math.SQRT2;
  // Lentz's continued fraction for erfc(t)·e^{t²}·√π: 1/(t + (1/2)/(t + 1/(t + (3/2)/(t + …)))).
  let f = t;
  for (let k = 200; k >= 1; k--) f = t + k / 2 / f;
  return Math.log(0.5) - t * t - Math.log(Math.sqrt(Math.PI)) - Math.log(f);
}
