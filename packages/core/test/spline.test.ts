import { describe, expect, it } from 'vitest';
import { GraphBuilder, Rng, createFlow, parseSpline, rqSpline, runGraph, splineBins, splineParamCount, type FlowSpec, type LayerSpec, type SplineSpec } from '../src/index.js';
import { decode, encode, integrateDensity2d, maxAbsDiff, numericalLogDet, randomFlow, randomInput, rawLayer, sinhLine, specErrorOf } from './helpers.js';

const SPEC: SplineSpec = parseSpline({ bins: 6, bound: 2 }, 'spline');
const P = splineParamCount(SPEC);

/** Runs the elementwise spline on `v` `[M]` (one scalar per row) with raw parameters `[M, P]`. */
function runSpline(spec: SplineSpec, raw: Float64Array, v: Float64Array, direction: 'forward' | 'inverse') {
  const m = v.length;
  const p = splineParamCount(spec);
  const g = new GraphBuilder();
  const vIn = g.input('v', ['N', 1]);
  const rIn = g.input('raw', ['N', 1, p]);
  const { out, logDet } = rqSpline(g, spec, rIn, vIn, direction);
  const q = splineBins(g, spec, rIn);
  g.output('out', out);
  g.output('logDet', logDet);
  g.output('xs', q.xs);
  g.output('ys', q.ys);
  g.output('dLeft', q.dLeft);
  const r = runGraph(g.build(), { params: {}, inputs: { v: { data: v, shape: [m, 1] }, raw: { data: raw, shape: [m, 1, p] } }, batch: m });
  return { out: r.out!.data, logDet: r.logDet!.data, xs: r.xs!.data, ys: r.ys!.data, dLeft: r.dLeft!.data };
}

/** One random raw parameter vector (std 1.5: uneven bins and derivatives) repeated for `m` rows. */
function rawFor(m: number, seed = 3, spec = SPEC): Float64Array {
  const p = splineParamCount(spec);
  const one = new Rng(seed).normals(p, 1.5);
  const raw = new Float64Array(m * p);
  for (let i = 0; i < m; i++) raw.set(one, i * p);
  return raw;
}

const grid = (lo: number, hi: number, n: number) => Float64Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));

describe('rational-quadratic spline (elementwise)', () => {
  const k = SPEC.bins;
  const probe = runSpline(SPEC, rawFor(1), new Float64Array(1), 'forward');
  const xs = [...probe.xs, SPEC.bound];
  const ys = [...probe.ys, SPEC.bound];

  it('knots span [−B, B] with K uneven bins; forward maps every knot onto its y-knot', () => {
    expect(xs[0]).toBe(-2);
    expect(ys[0]).toBe(-2);
    const widths = xs.slice(1).map((v, i) => v - xs[i]!);
    expect(Math.min(...widths)).toBeGreaterThan(4 * SPEC.minBinWidth);
    expect(Math.max(...widths) / Math.min(...widths)).toBeGreaterThan(3);
    const f = runSpline(SPEC, rawFor(k + 1), Float64Array.from(xs), 'forward');
    expect(maxAbsDiff(f.out, ys)).toBeLessThan(1e-14);
  });

  it('round trip to 1e-10 in float64 on a grid through the tails, at ±B and exactly at every knot', () => {
    const x = Float64Array.from([...grid(-5, 5, 401), ...xs, ...xs.map((v) => -v), -2, 2, -2 - 1e-12, 2 - 1e-12, 0]);
    const m = x.length;
    const f = runSpline(SPEC, rawFor(m), x, 'forward');
    const back = runSpline(SPEC, rawFor(m), f.out, 'inverse');
    expect(maxAbsDiff(back.out, x)).toBeLessThan(1e-10);
    // Both directions report the forward map's log-derivative at the same point.
    expect(maxAbsDiff(back.logDet, f.logDet)).toBeLessThan(1e-9);
    // And from the latent side: the y-knots map back onto the x-knots.
    const inv = runSpline(SPEC, rawFor(k + 1), Float64Array.from(ys), 'inverse');
    expect(maxAbsDiff(inv.out, xs)).toBeLessThan(1e-12);
  });

  it('is the identity with log-derivative 0 in the tails (|x| >= B), and a real transformation inside', () => {
    const x = Float64Array.from([-7, -2.5, -2, 2, 2.0001, 9]);
    const f = runSpline(SPEC, rawFor(x.length), x, 'forward');
    expect(Array.from(f.out)).toEqual(Array.from(x));
    expect(Array.from(f.logDet).every((v) => v === 0)).toBe(true);
    const inside = runSpline(SPEC, rawFor(200), grid(-1.99, 1.99, 200), 'forward');
    expect(maxAbsDiff(inside.out, grid(-1.99, 1.99, 200))).toBeGreaterThan(0.1);
  });

  it('is strictly increasing and continuous, and C¹: the slope is d_k at every knot and 1 at ±B', () => {
    const x = grid(-3, 3, 3001);
    const f = runSpline(SPEC, rawFor(x.length), x, 'forward');
    for (let i = 1; i < x.length; i++) expect(f.out[i]!).toBeGreaterThan(f.out[i - 1]!);
    // Largest jump between neighbours bounded by the largest slope times the spacing.
    const maxSlope = Math.exp(Math.max(...f.logDet));
    for (let i = 1; i < x.length; i++) expect(f.out[i]! - f.out[i - 1]!).toBeLessThan(maxSlope * 0.002 * 1.01);
    // C¹: on either side of every knot (and of ±B, where the tails have slope 1) the slope is d_k.
    const eps = 1e-9;
    const pts = Float64Array.from(xs.flatMap((v) => [v - eps, v, v + eps]));
    const s = runSpline(SPEC, rawFor(pts.length), pts, 'forward');
    const d = [...probe.dLeft, 1];
    expect(d[0]).toBe(1);
    expect(Math.max(...d) / Math.min(...d)).toBeGreaterThan(3);
    for (let j = 0; j <= k; j++) {
      for (let side = 0; side < 3; side++) expect(Math.abs(Math.exp(s.logDet[3 * j + side]!) - d[j]!), `knot ${j}, side ${side}`).toBeLessThan(1e-6);
    }
  });

  it('log-derivative matches central differences of the forward map (1e-6)', () => {
    // Away from the knots (there the second derivative jumps, and a central difference across one is off by O(ε)).
    const x = Float64Array.from([...grid(-1.97, 1.97, 41).filter((v) => xs.every((kn) => Math.abs(v - kn) > 1e-3)), -2.5, 3]);
    expect(x.length).toBeGreaterThan(30);
    const eps = 1e-6;
    const both = Float64Array.from([...x.map((v) => v + eps), ...x.map((v) => v - eps)]);
    const f = runSpline(SPEC, rawFor(x.length), x, 'forward');
    const fd = runSpline(SPEC, rawFor(both.length), both, 'forward');
    for (let i = 0; i < x.length; i++) {
      const num = Math.log((fd.out[i]! - fd.out[x.length + i]!) / (2 * eps));
      expect(Math.abs(num - f.logDet[i]!), `x = ${x[i]}`).toBeLessThan(1e-6);
    }
  });

  it('zero raw parameters give the identity (a fresh layer is the identity)', () => {
    const x = grid(-3, 3, 61);
    const f = runSpline(SPEC, new Float64Array(x.length * P), x, 'forward');
    expect(maxAbsDiff(f.out, x)).toBeLessThan(1e-14);
    expect(Math.max(...f.logDet.map(Math.abs))).toBeLessThan(1e-14);
  });
});

const flow = (event: number[], layers: LayerSpec[]): FlowSpec => ({ version: 1, event, layers });
const mlp = { type: 'mlp' as const, hidden: [16, 16], activation: 'tanh' as const };
/** Name, spec, std of the parameter perturbation (the CNN's output scale exp(3·logs) amplifies it). */
const layerCases: [string, FlowSpec, number][] = [
  ['splineCoupling (half, MLP)', flow([5], [{ type: 'splineCoupling', mask: 'half', parity: 0, conditioner: mlp, bins: 5, bound: 2 }]), 0.5],
  ['splineCoupling (alternating, MLP)', flow([4], [{ type: 'splineCoupling', mask: 'alternating', parity: 1, conditioner: mlp, bins: 8, bound: 2.5 }]), 0.5],
  ['splineCoupling (checkerboard, CNN)', flow([2, 4, 4], [{ type: 'splineCoupling', mask: 'checkerboard', parity: 1, conditioner: { type: 'cnn', hidden: 8 }, bins: 4, bound: 2 }]), 0.2],
  ['splineCoupling (channel, CNN)', flow([2, 3, 3], [{ type: 'splineCoupling', mask: 'channel', parity: 0, conditioner: { type: 'cnn', hidden: 8 }, bins: 6, bound: 2 }]), 0.2],
  ['splineAutoregressive (natural)', flow([5], [{ type: 'splineAutoregressive', hidden: [16, 16], bins: 5, bound: 2 }]), 0.5],
  ['splineAutoregressive (random, tanh, no hidden)', flow([4], [{ type: 'splineAutoregressive', hidden: [], order: 'random', seed: 4, activation: 'tanh', bins: 7, bound: 2 }]), 0.5],
];

describe.each(layerCases)('%s', (_, spec, paramStd) => {
  const f = randomFlow(spec, 7, paramStd);
  const d = f.dim;
  const x = randomInput([6, ...spec.event], 8, 1.5);

  it('decode(encode(x)) = x to 1e-10 (inputs inside and in the tails), a real transformation', () => {
    const inTails = Array.from(x.data).filter((v) => Math.abs(v) >= 2).length;
    expect(inTails).toBeGreaterThan(3);
    const { z, logDet } = encode(f, x);
    const back = decode(f, z);
    expect(maxAbsDiff(back.x.data, x.data)).toBeLessThan(1e-10);
    expect(maxAbsDiff(back.logDet.data, logDet.data)).toBeLessThan(1e-9);
    expect(maxAbsDiff(z.data, x.data)).toBeGreaterThan(0.05);
    expect(Math.abs(logDet.data[0]!)).toBeGreaterThan(0.01);
    const z2 = randomInput([6, ...spec.event], 9, 1.5);
    const x2 = decode(f, z2).x;
    expect(maxAbsDiff(encode(f, { data: x2.data, shape: [...x2.shape] }).z.data, z2.data)).toBeLessThan(1e-10);
  });

  it('log|det J| matches the central-difference Jacobian (1e-6 relative)', () => {
    for (const row of [0, 3]) {
      const xi = Float64Array.from(x.data.subarray(row * d, (row + 1) * d));
      const num = numericalLogDet(f, xi, spec.event);
      const got = encode(f, { data: xi, shape: [1, ...spec.event] }).logDet.data[0]!;
      expect(Math.abs(num - got) / Math.max(1e-3, Math.abs(num))).toBeLessThan(1e-6);
    }
  });

  it('a fresh layer is the identity', () => {
    const fresh = createFlow(spec, { seed: 1 });
    const { z, logDet } = encode(fresh, x);
    expect(maxAbsDiff(z.data, x.data)).toBeLessThan(1e-14);
    expect(Math.max(...logDet.data.map(Math.abs))).toBeLessThan(1e-13);
  });
});

describe('spline flows in 2-D', () => {
  it.each([
    ['splineCoupling ×2', [
      { type: 'splineCoupling', mask: 'half', parity: 0, conditioner: mlp, bins: 6, bound: 2.5 },
      { type: 'splineCoupling', mask: 'half', parity: 1, conditioner: mlp, bins: 6, bound: 2.5 },
    ]],
    ['splineAutoregressive ×2', [
      { type: 'splineAutoregressive', hidden: [16], bins: 6, bound: 2.5 },
      { type: 'splineAutoregressive', hidden: [16], order: 'reverse', activation: 'tanh', bins: 4, bound: 2 },
    ]],
  ] as [string, LayerSpec[]][])('the density of %s integrates to 1 (1e-3)', (_, layers) => {
    // 301² nodes, x = sinh t for t in [−4, 4] (|x| <= 27; spacing 0.027–0.1 where |x| < 2.5, the splines' interval).
    const total = integrateDensity2d(randomFlow(flow([2], layers), 11, 0.2), sinhLine(1, 4, 301));
    console.log(`${_}: |∫p − 1| = ${Math.abs(total - 1).toExponential(2)}`);
    expect(Math.abs(total - 1)).toBeLessThan(1e-3);
  });
});

describe('spline spec checks', () => {
  const coupling = (extra: Record<string, unknown>) => createFlow(flow([4], [rawLayer({ type: 'splineCoupling', ...extra })]));
  it.each([
    [{ bins: 1 }, /layers\[0\]\.bins: expected >= 2, got 1/],
    [{ bins: 2.5 }, /layers\[0\]\.bins: expected an integer/],
    [{ bound: 0 }, /layers\[0\]\.bound: expected > 0, got 0/],
    [{ bins: 10, minBinWidth: 0.1 }, /layers\[0\]\.minBinWidth: .*need minBinWidth < 1\/10, got 0\.1/],
    [{ minBinHeight: -1 }, /layers\[0\]\.minBinHeight: expected >= 0/],
    [{ minDerivative: 1 }, /layers\[0\]\.minDerivative: must be < 1/],
    [{ tails: 'linear' }, /layers\[0\]\.tails: unknown field/],
    [{ mask: 'checkerboard' }, /mask 'checkerboard' does not apply to input \[4\]/],
  ])('%o is refused', (extra, message) => {
    expect(specErrorOf(() => coupling(extra)).message).toMatch(message);
  });
  it('splineAutoregressive refuses images and a random order without a seed', () => {
    expect(specErrorOf(() => createFlow(flow([1, 2, 2], [{ type: 'splineAutoregressive' }]))).message).toMatch(/works on vectors \[D\]; its input is \[1, 2, 2\]/);
    expect(specErrorOf(() => createFlow(flow([3], [{ type: 'splineAutoregressive', order: 'random' }]))).message).toMatch(/needs an integer seed/);
  });
});
