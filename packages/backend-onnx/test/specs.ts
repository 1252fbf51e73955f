import { FLOW_SPEC_VERSION, layerRegistry, type FlowSpec, type LayerSpec } from '@bijective/core';

/** Flow specs in the shapes of the presets (small sizes, so tests stay quick). */
export interface SpecCase {
  name: string;
  spec: FlowSpec;
  /** Layer types the spec needs (a case is skipped, visibly, until core registers them). */
  needs: string[];
  /** Has a sequential direction (a `loop`), so both loop lowerings are exercised. */
  sequential: boolean;
}

const spec = (name: string, event: number[], layers: LayerSpec[]): FlowSpec => ({ version: FLOW_SPEC_VERSION, event, layers, name });

const glowStep = (hidden: number): LayerSpec[] => [
  { type: 'actNorm' },
  { type: 'invConv1x1', variant: 'lu' },
  { type: 'affineCoupling', mask: 'channel', parity: 0, conditioner: { type: 'cnn', hidden }, scale: 'sigmoid' },
];

/** A multi-scale Glow: 2 levels × `steps` steps on [C, H, W], split (learned prior) between levels. */
export function glowSpec(event: number[], steps: number, hidden: number, name = 'glow'): FlowSpec {
  const layers: LayerSpec[] = [];
  for (let level = 0; level < 2; level++) {
    if (level > 0) layers.push({ type: 'split', prior: 'conditional' });
    layers.push({ type: 'squeeze' });
    for (let k = 0; k < steps; k++) layers.push(...glowStep(hidden));
  }
  return spec(name, event, layers);
}

export function autoregressiveSpec(type: 'maf' | 'iaf', d: number, hidden: number[], blocks = 2): FlowSpec {
  const layers: LayerSpec[] = [];
  for (let b = 0; b < blocks; b++) {
    if (b > 0) layers.push({ type: 'permute', kind: 'reverse' });
    layers.push({ type, hidden, activation: 'relu', order: 'natural' });
  }
  return spec(type, [d], layers);
}

export const SPEC_CASES: SpecCase[] = [
  {
    name: 'vector (NICE / RealNVP)',
    spec: spec('vector', [6], [
      { type: 'additiveCoupling', mask: 'half', parity: 0, conditioner: { type: 'mlp', hidden: [16] } },
      { type: 'affineCoupling', mask: 'alternating', parity: 1, conditioner: { type: 'mlp', hidden: [16, 16], activation: 'tanh' } },
      { type: 'actNorm' },
      { type: 'scale' },
    ]),
    needs: ['additiveCoupling', 'affineCoupling', 'actNorm', 'scale'],
    sequential: false,
  },
  {
    name: 'image (RealNVP checkerboard)',
    spec: spec('image', [2, 4, 4], [
      { type: 'affineCoupling', mask: 'checkerboard', parity: 0, conditioner: { type: 'cnn', hidden: 8 } },
      { type: 'actNorm' },
      { type: 'invConv1x1', variant: 'plain' },
      { type: 'affineCoupling', mask: 'checkerboard', parity: 1, conditioner: { type: 'cnn', hidden: 8 } },
    ]),
    needs: ['affineCoupling', 'actNorm', 'invConv1x1'],
    sequential: false,
  },
  {
    name: 'multi-scale (Glow)',
    spec: glowSpec([1, 8, 8], 2, 8, 'multiscale'),
    needs: ['actNorm', 'invConv1x1', 'affineCoupling', 'squeeze', 'split'],
    sequential: false,
  },
  { name: 'MAF', spec: autoregressiveSpec('maf', 5, [16, 16]), needs: ['maf', 'permute'], sequential: true },
  { name: 'IAF', spec: autoregressiveSpec('iaf', 5, [16]), needs: ['iaf', 'permute'], sequential: true },
  {
    name: 'neural spline flow (coupling, vector)',
    spec: spec('nsf', [4], [
      { type: 'splineCoupling', mask: 'half', parity: 0, conditioner: { type: 'mlp', hidden: [16, 16] }, bins: 8, bound: 2 },
      { type: 'splineCoupling', mask: 'half', parity: 1, conditioner: { type: 'mlp', hidden: [16], activation: 'tanh' }, bins: 5, bound: 3 },
    ]),
    needs: ['splineCoupling'],
    sequential: false,
  },
  {
    name: 'neural spline flow (coupling, image)',
    spec: spec('nsf-image', [2, 4, 4], [
      { type: 'splineCoupling', mask: 'checkerboard', parity: 0, conditioner: { type: 'cnn', hidden: 4 }, bins: 6, bound: 2 },
      { type: 'splineCoupling', mask: 'channel', parity: 1, conditioner: { type: 'cnn', hidden: 4 }, bins: 4, bound: 2 },
    ]),
    needs: ['splineCoupling'],
    sequential: false,
  },
  {
    name: 'neural spline flow (autoregressive)',
    spec: spec('nsf-maf', [5], [
      { type: 'splineAutoregressive', hidden: [16, 16], bins: 8, bound: 2 },
      { type: 'permute', kind: 'reverse' },
      { type: 'splineAutoregressive', hidden: [16], order: 'random', seed: 1, bins: 5, bound: 2 },
    ]),
    needs: ['splineAutoregressive', 'permute'],
    sequential: true,
  },
];

export function missingLayers(c: SpecCase): string[] {
  return c.needs.filter((t) => !layerRegistry.has(t));
}
