import { createFlow, latentPieces, runReference, sizeOf, traceFlow, type Flow, type FlowSpec } from '@bijective/core';
import { describe, expect, test } from 'vitest';
import { PresetError, UnknownPresetError, families, getPreset, glowFlow, iafFlow, mafFlow, mintnetFlow, presets, realnvpFlow } from '../src/node.js';
import { inputFor, maxAbsDiff, perturbedFlow } from './helpers.js';

const REQUIRED = ['realnvp-2d', 'maf-2d', 'iaf-2d', 'nice-2d', 'nice-mnist', 'realnvp-fmnist', 'glow-fmnist-small', 'glow-fmnist', 'maf-784', 'iaf-784', 'mintnet-fmnist-small', 'mintnet-fmnist'];
const DATASET_SIZE: Record<string, number> = { mixture: 2, moons: 2, fmnist: 784, mnist: 784 };

/**
 * Encode then decode on the float64 reference: x ↦ z ↦ x′. Returns the round-trip error and
 * both directions' log|det ∂z/∂x| (the sampling graph reports it at the x it produces).
 */
function roundTrip(flow: Flow, n: number) {
  const x = inputFor(flow.spec, n);
  const enc = runReference(flow, traceFlow(flow, 'density'), { x });
  const dec = runReference(flow, traceFlow(flow, 'sample'), { z: { data: enc.z!.data, shape: [...enc.z!.shape] } });
  return { x, z: enc.z!.data, xBack: dec.x!.data, logDetDensity: enc.logDet!.data, logDetSample: dec.logDet!.data, logProb: enc.logProb!.data };
}

function spread(v: ArrayLike<number>): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) [lo, hi] = [Math.min(lo, v[i]!), Math.max(hi, v[i]!)];
  return hi - lo;
}

describe('named presets', () => {
  test('every required name exists, builds, and fits its dataset', () => {
    expect(Object.keys(presets)).toEqual(expect.arrayContaining(REQUIRED));
    for (const p of Object.values(presets)) {
      const flow = createFlow(p.spec());
      expect(flow.spec.name, p.name).toBe(p.name);
      expect(flow.dim, p.name).toBe(DATASET_SIZE[p.dataset]);
      expect(p.family, p.name).toBe(p.name.split('-')[0]);
    }
  });

  test('getPreset: an unknown name lists the known ones', () => {
    expect(getPreset('glow-fmnist-small').name).toBe('glow-fmnist-small');
    expect(() => getPreset('glow-cifar')).toThrow(UnknownPresetError);
    expect(() => getPreset('glow-cifar')).toThrow(`unknown preset 'glow-cifar'; known presets: ${Object.keys(presets).join(', ')}`);
    expect(() => getPreset('toString')).toThrow(UnknownPresetError);
  });

  test('new glow presets floor the coupling scale at 0.1; scaleFloor null gives the plain Glow scale (the shipped checkpoint\'s)', () => {
    const couplings = (spec: FlowSpec) => spec.layers.filter((l) => l.type === 'affineCoupling');
    const floored = couplings(getPreset('glow-fmnist-small').spec());
    expect(floored).toHaveLength(16);
    expect(floored.every((l) => l.scaleFloor === 0.1)).toBe(true);
    expect(couplings(glowFlow({ event: [1, 28, 28], scaleFloor: null })).every((l) => l.scaleFloor === undefined)).toBe(true);
  });

  test('glow-fmnist-small: 1×28×28, L = 2 levels × K = 8 steps of ActNorm → LU 1×1 conv → sigmoid affine coupling (CNN 64), split between levels', () => {
    const flow = createFlow(getPreset('glow-fmnist-small').spec());
    const types = flow.spec.layers.map((l) => l.type);
    expect(flow.spec.event).toEqual([1, 28, 28]);
    expect(types.filter((t) => t === 'squeeze')).toHaveLength(2);
    expect(types.filter((t) => t === 'split')).toHaveLength(1);
    expect(types.indexOf('split')).toBe(1 + 8 * 3);
    const steps = flow.spec.layers.filter((l) => l.type === 'affineCoupling');
    expect(steps).toHaveLength(16);
    for (const s of steps) expect(s).toMatchObject({ mask: 'channel', scale: 'sigmoid', conditioner: { type: 'cnn', hidden: 64 } });
    expect(flow.spec.layers.filter((l) => l.type === 'invConv1x1').every((l) => l.variant === 'lu')).toBe(true);
    expect(flow.spec.layers.slice(1, 4).map((l) => l.type)).toEqual(['actNorm', 'invConv1x1', 'affineCoupling']);
    // Level 1 runs on 4×14×14, factors out 2×14×14; level 2 runs on 8×7×7.
    expect(latentPieces(flow)).toEqual([[2, 14, 14], [8, 7, 7]]);
  });

  test('nsf-fmnist: Glow skeleton with RQ-spline couplings (CNN 64, 8 bins on [−4, 4]); gf-784 starts with a logit', () => {
    const spec = getPreset('nsf-fmnist').spec();
    const couplings = spec.layers.filter((l) => l.type === 'splineCoupling');
    expect(couplings).toHaveLength(8);
    for (const c of couplings) expect(c).toMatchObject({ mask: 'channel', bins: 8, bound: 4, conditioner: { type: 'cnn', hidden: 64 } });
    expect(spec.layers.slice(0, 4).map((l) => l.type)).toEqual(['squeeze', 'actNorm', 'invConv1x1', 'splineCoupling']);
    expect(latentPieces(createFlow(spec))).toEqual([[2, 14, 14], [8, 7, 7]]);
    const gf = getPreset('gf-784').spec().layers.map((l) => l.type);
    expect(gf.slice(0, 3)).toEqual(['logit', 'gaussianize', 'householder']);
    expect(gf.filter((t) => t === 'gaussianize')).toHaveLength(9);
  });

  test('mintnet presets: logit, then per level paired Mint layers (ActNorm → mintBlock natural → reverse); squeeze between levels, split before the second squeeze', () => {
    const mint = (spec: FlowSpec) => spec.layers.map((l) => (l.type === 'mintBlock' ? `mint-${l.order as string}-${l.hidden as number}` : l.type));
    const pair = (h: number) => ['actNorm', `mint-natural-${h}`, `mint-reverse-${h}`];
    const small = getPreset('mintnet-fmnist-small').spec();
    expect(mint(small)).toEqual(['logit', ...pair(4), 'squeeze', ...pair(4), ...pair(4), 'split', 'squeeze', ...pair(4), ...pair(4)]);
    expect(small.layers[0]).toMatchObject({ alpha: 0.05 });
    // 28×28 → squeeze → 4×14×14, half of it leaves, → squeeze → 8×7×7
    expect(latentPieces(createFlow(small))).toEqual([[2, 14, 14], [8, 7, 7]]);
    // The paper's MNIST scale: 6 + 6 + 8 pairs, latent size 45.
    const full = getPreset('mintnet-fmnist').spec();
    const blocks = full.layers.filter((l) => l.type === 'mintBlock');
    expect(blocks).toHaveLength(40);
    // the official code's sampling iterations (n_iters: 100): the count a block needs grows with training
    expect(blocks.every((l) => l.hidden === 45 && l.iterations === 100)).toBe(true);
    expect(small.layers.filter((l) => l.type === 'mintBlock').every((l) => l.iterations === undefined)).toBe(true);
    const types = full.layers.map((l) => l.type);
    expect(types.indexOf('squeeze')).toBe(1 + 6 * 3);
    expect(types.indexOf('split')).toBe(1 + 12 * 3 + 1);
    expect(mintnetFlow({ event: [3, 8, 8], steps: [1, 1], splitPrior: 'none', iterations: 30 }).layers.map((l) => l.type)).toEqual(['logit', 'actNorm', 'mintBlock', 'mintBlock', 'squeeze', 'actNorm', 'mintBlock', 'mintBlock']);
    expect(mintnetFlow({ event: [1, 4, 4], steps: [1], iterations: 30 }).layers[2]).toMatchObject({ iterations: 30 });
  });

  test('realnvp-fmnist: logit, then per scale checkerboard ×3 → squeeze → channel ×3 → split, then 4 checkerboard couplings', () => {
    const spec = getPreset('realnvp-fmnist').spec();
    const sig = spec.layers.map((l) => (l.type === 'affineCoupling' ? `${l.mask as string}${l.parity as number}` : l.type));
    const scale = ['checkerboard0', 'checkerboard1', 'checkerboard0', 'squeeze', 'channel0', 'channel1', 'channel0', 'split'];
    expect(sig).toEqual(['logit', ...scale, ...scale, 'checkerboard0', 'checkerboard1', 'checkerboard0', 'checkerboard1']);
    expect(latentPieces(createFlow(spec))).toEqual([[2, 14, 14], [4, 7, 7], [4, 7, 7]]);
  });

  test('maf/iaf alternate blocks with permutations; the 784 presets start with a logit', () => {
    const maf = getPreset('maf-784').spec();
    expect(maf.layers.map((l) => l.type)).toEqual(['logit', 'maf', 'permute', 'maf', 'permute', 'maf', 'permute', 'maf', 'permute', 'maf']);
    expect(getPreset('iaf-2d').spec().layers.map((l) => l.type)).toEqual(['iaf', 'permute', 'iaf', 'permute', 'iaf', 'permute', 'iaf', 'permute', 'iaf']);
    const random = mafFlow({ event: [5], blocks: 3, permute: 'random', seed: 10 });
    expect(random.layers.filter((l) => l.type === 'permute').map((l) => l.seed)).toEqual([11, 12]);
  });
});

describe('families refuse impossible options with a clear error', () => {
  test.each([
    ['glow with 3 levels on 28×28', () => glowFlow({ event: [1, 28, 28], levels: 3 }), /glow: 3 levels squeeze H and W 3 times; \[1, 28, 28\] is not divisible by 8/],
    ['glow on vectors', () => glowFlow({ event: [784] }), /glow: needs an image event \[C, H, W\], got \[784\]/],
    ['maf on images', () => mafFlow({ event: [1, 28, 28] }), /maf: works on vectors \[D\], got \[1, 28, 28\]/],
    ['iaf with 0 blocks', () => iafFlow({ event: [2], blocks: 0 }), /iaf: blocks must be an integer >= 1, got 0/],
    ['realnvp with 3 scales on 28×28', () => realnvpFlow({ event: [1, 28, 28], scales: 3 }), /realnvp: 3 scales .* not divisible by 8/],
    ['realnvp on 1-D vectors', () => realnvpFlow({ event: [1] }), /realnvp: a vector flow needs D >= 2/],
    ['an autoregressive spline flow on images', () => families.nsf({ event: [1, 28, 28], transform: 'autoregressive' }), /nsf: images \[C, H, W\] take transform 'coupling', got 'autoregressive'/],
    ['an image spline flow with 3 levels on 28×28', () => families.nsf({ event: [1, 28, 28], transform: 'coupling', levels: 3 }), /nsf: 3 levels squeeze H and W 3 times; \[1, 28, 28\] is not divisible by 8/],
    ['a bad event', () => families.nice({ event: [2, 3] }), /nice: event must be \[D\] or \[C, H, W\]/],
    ['mintnet with 4 levels on 28×28', () => mintnetFlow({ event: [1, 28, 28], steps: [1, 1, 1, 1] }), /mintnet: 4 levels squeeze H and W 3 times; \[1, 28, 28\] is not divisible by 8/],
    ['mintnet on vectors', () => mintnetFlow({ event: [784] }), /mintnet: needs an image event \[C, H, W\], got \[784\]/],
    ['mintnet with no levels', () => mintnetFlow({ event: [1, 28, 28], steps: [] }), /mintnet: steps must list at least one level/],
    ['mintnet with 0 pairs in a level', () => mintnetFlow({ event: [1, 28, 28], steps: [1, 0] }), /mintnet: steps\[1\] must be an integer >= 1, got 0/],
    ['mintnet with logitAlpha 0.5', () => mintnetFlow({ event: [1, 28, 28], logitAlpha: 0.5 }), /mintnet: logitAlpha must be in \(0, 0.5\), got 0.5/],
  ])('%s', (_, build, message) => {
    expect(build).toThrow(PresetError);
    expect(build).toThrow(message);
  });
});

/**
 * Round trips on the float64 reference. The 784-D autoregressive presets' sequential
 * directions (MAF sampling, IAF density) cost D conditioner passes, 19 GFLOP per example at
 * full size, far too slow for the interpreter: for those the full preset runs its parallel
 * direction, and a narrow variant of the same family at D = 784 runs the full round trip.
 */
describe('reference round trip decode(encode(x)) ≈ x', () => {
  const cases: [string, () => FlowSpec, number][] = [
    ...['realnvp-2d', 'maf-2d', 'iaf-2d', 'nice-2d', 'nice-mnist', 'realnvp-fmnist', 'glow-fmnist-small'].map((n): [string, () => FlowSpec, number] => [n, () => getPreset(n).spec(), 2]),
    ['glow-fmnist', () => getPreset('glow-fmnist').spec(), 1],
    ['nsf-fmnist', () => getPreset('nsf-fmnist').spec(), 2],
    ['gf-784', () => getPreset('gf-784').spec(), 2],
    ['mintnet-fmnist-small', () => getPreset('mintnet-fmnist-small').spec(), 2],
    // mintnet-fmnist is ~1 GFLOP per example and direction (× 50 inverse iterations per block):
    // too slow for the interpreter; the same family at full resolution, narrow, instead.
    ['mintnet family on 1×28×28 (1 pair per level, hidden 1)', () => mintnetFlow({ event: [1, 28, 28], steps: [1, 1, 1], hidden: 1 }), 2],
    ['maf family at D = 784 (2 blocks, MADE 16)', () => mafFlow({ event: [784], blocks: 2, hidden: [16], logitAlpha: 0.05 }), 2],
    ['iaf family at D = 784 (2 blocks, MADE 16)', () => iafFlow({ event: [784], blocks: 2, hidden: [16], logitAlpha: 0.05 }), 2],
  ];
  test.each(cases)('%s', (_, spec, n) => {
    const flow = perturbedFlow(spec(), 0.01);
    const r = roundTrip(flow, n);
    // float64 throughout; parameters are float32 but shared by both directions. Measured ≤ 1e-13.
    expect(maxAbsDiff(r.xBack, r.x.data)).toBeLessThan(1e-9);
    expect(maxAbsDiff(r.logDetSample, r.logDetDensity)).toBeLessThan(1e-8 * (1 + Math.max(...Array.from(r.logDetDensity, Math.abs))));
    expect(Array.from(r.logProb).every(Number.isFinite)).toBe(true);
    // Not the identity: the log-det changes from example to example; NICE's is constant (volume-
    // preserving couplings, then a scale), so there z must differ from x ⊙ exp(s) alone.
    const last = flow.layers[flow.layers.length - 1]!;
    if (flow.layers.every((l) => l.spec.type === 'additiveCoupling' || l.spec.type === 'scale')) {
      const s = flow.params[`${last.prefix}.logScale`]!.data;
      const scaledOnly = Array.from(r.x.data, (v, i) => v * Math.exp(s[i % s.length]!));
      expect(maxAbsDiff(r.z, scaledOnly)).toBeGreaterThan(1e-3);
    } else if (n > 1) {
      expect(spread(r.logDetDensity)).toBeGreaterThan(1e-4);
    }
  });

  test.each(['maf-784', 'iaf-784'])('%s: the parallel direction runs on the full preset', (name) => {
    const flow = perturbedFlow(getPreset(name).spec(), 0.01);
    const x = inputFor(flow.spec, 2);
    if (name === 'maf-784') {
      const out = runReference(flow, traceFlow(flow, 'density'), { x });
      expect(out.logProb!.shape).toEqual([2]);
      expect(Array.from(out.logProb!.data).every(Number.isFinite)).toBe(true);
      expect(spread(out.logDet!.data)).toBeGreaterThan(1e-4);
    } else {
      const z = { data: inputFor({ ...flow.spec, layers: [{ type: 'scale' }] }, 2).data, shape: [2, 784] };
      const out = runReference(flow, traceFlow(flow, 'sample'), { z });
      expect(out.x!.shape).toEqual([2, 784]);
      // The logit's inverse maps into (0, 1) (up to its α margin).
      expect(Array.from(out.x!.data).every((v) => v > -0.06 && v < 1.06)).toBe(true);
      expect(sizeOf(out.x!.shape)).toBe(2 * 784);
    }
  });
});
