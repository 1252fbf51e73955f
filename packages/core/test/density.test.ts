import { describe, expect, it } from 'vitest';
import type { FlowSpec, LayerSpec } from '../src/index.js';
import { integrateDensity2d, midpoint, randomFlow, sinhLine } from './helpers.js';

/**
 * In 2-D the density exp(logProb) must integrate to 1: a wrong log-det (a missing term, a sign,
 * the wrong direction's Jacobian) or a non-bijective layer breaks it. Every flow has random,
 * non-trivial parameters (`randomFlow`). Quadrature: the trapezoid rule in t on the grid
 * x = 2·sinh(t), t ∈ [−6, 6] (|x| up to 807, spacing 0.04–0.08 where |x| < 2), so heavy tails
 * count too; logit flows live on (0, 1)², integrated by the midpoint rule.
 * Tolerance 1e-3 as specified; the measured errors are far below (see the report).
 *
 * ReLU autoregressive layers here use `logScaleClamp: 3`: with the default bound 5, random
 * ReLU MADEs saturate α at ±5 away from the origin, which puts peaks narrower than this grid
 * resolves (width ~e⁻⁵) and tails beyond |x| = 800 (measured: such a flow needs a 1201-node
 * grid to reach 1e-5), a test of the quadrature rather than of the layers.
 */
const P: LayerSpec = { type: 'permute', kind: 'reverse' };
const mlp = (activation: 'relu' | 'tanh' = 'relu') => ({ type: 'mlp' as const, hidden: [16, 16], activation });
const additive = (parity: 0 | 1, activation?: 'relu' | 'tanh'): LayerSpec => ({ type: 'additiveCoupling', mask: 'half', parity, conditioner: mlp(activation) });
const affine = (parity: 0 | 1, scale: 'tanhExp' | 'sigmoid'): LayerSpec => ({ type: 'affineCoupling', mask: 'half', parity, scale, conditioner: mlp('tanh') });
const ar = (type: 'maf' | 'iaf', activation: 'relu' | 'tanh', extra: Record<string, unknown> = {}): LayerSpec => ({
  type,
  hidden: [16, 16],
  activation,
  ...(activation === 'relu' ? { logScaleClamp: 3 } : {}),
  ...extra,
});
const spec = (layers: LayerSpec[]): FlowSpec => ({ version: 1, event: [2], layers });

const wholePlane = sinhLine(2, 6, 301);
const singleLayerGrid = sinhLine(2, 6, 161);
const unitSquare = midpoint(0, 1, 300);

/** ∫_a^b N(t; 0, 1) dt by composite Simpson (2000 panels; error < 1e-14 here). */
function normalMass(a: number, b: number): number {
  const n = 2000;
  const h = (b - a) / n;
  const pdf = (t: number) => Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
  let s = pdf(a) + pdf(b);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * pdf(a + i * h);
  return (s * h) / 3;
}

describe('the density integrates to 1 in 2-D', () => {
  it.each([
    ['maf (relu, natural)', [ar('maf', 'relu')]],
    ['maf (tanh, reverse)', [ar('maf', 'tanh', { order: 'reverse' })]],
    ['iaf (relu, natural)', [ar('iaf', 'relu')]],
    ['iaf (tanh, random)', [ar('iaf', 'tanh', { order: 'random', seed: 1 })]],
  ] as [string, LayerSpec[]][])('single layer: %s', (_, layers) => {
    expect(Math.abs(integrateDensity2d(randomFlow(spec(layers), 11), wholePlane) - 1)).toBeLessThan(1e-3);
  });

  it.each([
    ['permute (reverse)', [P]],
    ['permute (random)', [{ type: 'permute', kind: 'random', seed: 2 }]],
    ['additiveCoupling', [additive(1)]],
    ['scale', [{ type: 'scale' }]],
    ['affineCoupling (tanhExp)', [affine(0, 'tanhExp')]],
    ['affineCoupling (sigmoid)', [affine(1, 'sigmoid')]],
    ['actNorm', [{ type: 'actNorm' }]],
    ['invConv1x1 (lu)', [{ type: 'invConv1x1', variant: 'lu' }]],
    ['invConv1x1 (plain)', [{ type: 'invConv1x1', variant: 'plain' }]],
  ] as [string, LayerSpec[]][])('single layer: %s', (_, layers) => {
    expect(Math.abs(integrateDensity2d(randomFlow(spec(layers), 11), singleLayerGrid) - 1)).toBeLessThan(1e-3);
  });

  it.each([
    ['NICE', [additive(0), additive(1), P, additive(0, 'tanh'), additive(1), { type: 'scale' }]],
    ['RealNVP', [affine(0, 'tanhExp'), affine(1, 'sigmoid'), P, affine(0, 'tanhExp'), affine(1, 'sigmoid'), P]],
    ['MAF stack', [ar('maf', 'relu'), P, ar('maf', 'tanh'), { type: 'permute', kind: 'random', seed: 3 }, ar('maf', 'relu', { order: 'reverse' }), P]],
    ['IAF stack', [ar('iaf', 'relu'), P, ar('iaf', 'tanh'), { type: 'permute', kind: 'random', seed: 3 }, ar('iaf', 'relu', { order: 'reverse' }), P]],
  ] as [string, LayerSpec[]][])('%s, 6 layers', (_, layers) => {
    expect(Math.abs(integrateDensity2d(randomFlow(spec(layers), 5), wholePlane) - 1)).toBeLessThan(1e-3);
  });

  it('logit: 1 over (0, 1)² with alpha 0; with alpha 0.05 the mass of the box [logit α, logit(1 − α)]²', () => {
    expect(Math.abs(integrateDensity2d(randomFlow(spec([{ type: 'logit', alpha: 0 }])), unitSquare) - 1)).toBeLessThan(1e-3);
    // logit(0.95) = log 19: [0, 1]² maps onto [−log 19, log 19]², whose standard-normal mass is < 1.
    const box = normalMass(-Math.log(19), Math.log(19)) ** 2;
    expect(box).toBeLessThan(0.994);
    expect(Math.abs(integrateDensity2d(randomFlow(spec([{ type: 'logit', alpha: 0.05 }])), unitSquare) - box)).toBeLessThan(1e-4);
  });

  it('logit + MAF/IAF stack on (0, 1)², 6 layers', () => {
    const flow = randomFlow(spec([{ type: 'logit', alpha: 0 }, ar('maf', 'tanh'), P, ar('iaf', 'tanh'), P, ar('maf', 'tanh')]), 4);
    expect(Math.abs(integrateDensity2d(flow, unitSquare) - 1)).toBeLessThan(1e-3);
  });
});
