import { describe, expect, it } from 'vitest';
import { createFlow, luFactors, randomOrthogonal, Rng, type Flow } from '../src/index.js';
import { checkBijection, encode, flowSpec, maxAbsDiff, randomFlow, randomInput, slogdet } from './helpers.js';

const ROUND_TRIP = 1e-10;
const LOGDET_REL = 1e-6;
const SAME_POINT = 1e-10;

function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) c[i * n + j]! += a[i * n + k]! * b[k * n + j]!;
  return c;
}

const transpose = (a: ArrayLike<number>, n: number) => Float64Array.from({ length: n * n }, (_, k) => a[(k % n) * n + Math.floor(k / n)]!);
const identity = (n: number) => Float64Array.from({ length: n * n }, (_, k) => (k % n === Math.floor(k / n) ? 1 : 0));

/** W of layer 0, rebuilt in float64 from the stored parameters, independently of the layer's graph. */
function explicitWeight(flow: Flow, c: number): Float64Array {
  const p = (k: string) => flow.params[`layers.0.${k}`]!.data;
  const layer = flow.spec.layers[0]!;
  if (layer.type !== 'invConv1x1') throw new Error(`layer 0 is '${layer.type}', not invConv1x1`);
  if (layer.variant === 'plain') return Float64Array.from(p('weight'));
  const l = identity(c);
  const u = new Float64Array(c * c);
  for (let i = 0; i < c; i++) {
    for (let j = 0; j < c; j++) {
      if (j < i) l[i * c + j] = p('lower')[i * c + j]!;
      if (j > i) u[i * c + j] = p('upper')[i * c + j]!;
    }
    u[i * c + i] = p('sign')[i]! * Math.exp(p('logS')[i]!);
  }
  return matmul(matmul(p('p'), l, c), u, c);
}

const variants = ['plain', 'lu'] as const;

describe('invConv1x1: bijection', () => {
  it.each(variants.flatMap((variant) => [[16], [4, 2, 2], [2, 4, 2]].map((event) => ({ variant, event }))))(
    '$variant on $event: inverts, log-det matches the numerical Jacobian',
    ({ variant, event }) => {
      const flow = randomFlow(flowSpec(event, [{ type: 'invConv1x1', variant }]), 11, 0.4);
      const r = checkBijection(flow, randomInput([3, ...event]));
      expect(r.roundTrip).toBeLessThan(ROUND_TRIP);
      expect(r.logDetRelErr).toBeLessThan(LOGDET_REL);
      expect(r.sampleLogDetErr).toBeLessThan(SAME_POINT);
      expect(Math.abs(r.logDet)).toBeGreaterThan(0.05);
    },
  );
});

describe('invConv1x1: W and its determinant', () => {
  it.each(variants)('%s: log-det equals H·W·log|det W| of the explicit W, and the layer applies exactly that W', (variant) => {
    const c = 4;
    const flow = randomFlow(flowSpec([c, 2, 2], [{ type: 'invConv1x1', variant }]), 12, 0.4);
    const w = explicitWeight(flow, c);
    const input = randomInput([2, c, 2, 2]);
    const { z, logDet } = encode(flow, input);
    expect(logDet.data[0]).toBeCloseTo(4 * slogdet(w, c), 10);
    if (variant === 'lu') {
      const sumLogS = Array.from(flow.params['layers.0.logS']!.data).reduce((a, b) => a + b, 0);
      expect(slogdet(w, c)).toBeCloseTo(sumLogS, 10);
    }
    // Pixel (0, 0) of example 0: z[:, 0, 0] = W x[:, 0, 0].
    const x = input.data;
    for (let i = 0; i < c; i++) {
      let expected = 0;
      for (let j = 0; j < c; j++) expected += w[i * c + j]! * x[j * 4]!;
      expect(z.data[i * 4]).toBeCloseTo(expected, 10);
    }
  });

  it.each(variants)('%s on vectors: the columns of W are the images of the unit vectors', (variant) => {
    const c = 5;
    const flow = randomFlow(flowSpec([c], [{ type: 'invConv1x1', variant }]), 13, 0.4);
    const { z } = encode(flow, { data: identity(c), shape: [c, c] });
    // Row e of z is W e_e, i.e. column e of W: z = Wᵀ as a matrix.
    expect(maxAbsDiff(z.data, transpose(explicitWeight(flow, c), c))).toBeLessThan(1e-12);
  });

  it('both variants start from the same seeded orthogonal W (log|det W| = 0), different per seed', () => {
    const c = 6;
    const ws = variants.map((variant) => explicitWeight(createFlow(flowSpec([c], [{ type: 'invConv1x1', variant }]), { seed: 21 }), c));
    // Parameters are float32: W Wᵀ = I to ~c·2⁻²⁴.
    for (const w of ws) expect(maxAbsDiff(matmul(w, transpose(w, c), c), identity(c))).toBeLessThan(1e-6);
    expect(maxAbsDiff(ws[0]!, ws[1]!)).toBeLessThan(1e-6);
    const other = explicitWeight(createFlow(flowSpec([c], [{ type: 'invConv1x1', variant: 'lu' }]), { seed: 22 }), c);
    expect(maxAbsDiff(other, ws[1]!)).toBeGreaterThan(0.1);
    const lu = createFlow(flowSpec([c], [{ type: 'invConv1x1', variant: 'lu' }]), { seed: 21 });
    expect(Math.abs(Array.from(lu.params['layers.0.logS']!.data).reduce((a, b) => a + b, 0))).toBeLessThan(1e-6);
    expect(lu.paramDecls['layers.0.p']!.trainable).toBe(false);
    expect(lu.paramDecls['layers.0.sign']!.trainable).toBe(false);
  });
});

describe('float64 helpers', () => {
  it('randomOrthogonal is orthogonal and luFactors reproduces its input as P L U', () => {
    const n = 7;
    const q = randomOrthogonal(n, new Rng(3));
    expect(maxAbsDiff(matmul(transpose(q, n), q, n), identity(n))).toBeLessThan(1e-14);
    const a = new Rng(4).normals(n * n);
    const { p, l, u } = luFactors(a, n);
    expect(maxAbsDiff(matmul(matmul(p, l, n), u, n), a)).toBeLessThan(1e-13);
    for (let i = 0; i < n; i++) {
      expect(l[i * n + i]).toBe(1);
      for (let j = i + 1; j < n; j++) expect(l[i * n + j]).toBe(0);
      for (let j = 0; j < i; j++) expect(u[i * n + j]).toBe(0);
      // Partial pivoting: |L| ≤ 1.
      for (let j = 0; j < i; j++) expect(Math.abs(l[i * n + j]!)).toBeLessThanOrEqual(1);
    }
    expect(Math.abs(slogdet(a, n) - Array.from({ length: n }, (_, i) => Math.log(Math.abs(u[i * n + i]!))).reduce((s, v) => s + v, 0))).toBeLessThan(1e-12);
  });
});
