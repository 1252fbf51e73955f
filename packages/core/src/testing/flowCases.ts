import { createFlow, type Flow, type FlowSpec } from '../flow/flow.js';
import type { LayerSpec } from '../layers/specs.js';
import { Rng } from '../random.js';
import { sizeOf, type Tensor } from '../tensor.js';

/** A flow whose every engine must agree with the reference. */
export interface FlowCase {
  /** `flow/<name>`. */
  name: string;
  spec: FlowSpec;
  /** Inputs in (0, 1) for flows that start with `logit`; standard normal otherwise. */
  domain: 'real' | 'unit';
}

const mlp = { type: 'mlp' as const, hidden: [8, 8] };
const cnn = { type: 'cnn' as const, hidden: 8 };
const vec = (name: string, d: number, layers: LayerSpec[], domain: FlowCase['domain'] = 'real'): FlowCase => ({
  name: `flow/${name}`,
  spec: { version: 1, event: [d], layers, name },
  domain,
});
const img = (name: string, event: number[], layers: LayerSpec[], domain: FlowCase['domain'] = 'real'): FlowCase => ({
  name: `flow/${name}`,
  spec: { version: 1, event, layers, name },
  domain,
});

/** One flow per layer family (vector and image forms) plus composite flows of each preset family. */
export function flowCases(): FlowCase[] {
  return [
    vec('nice-vector', 6, [
      { type: 'additiveCoupling', mask: 'half', parity: 0, conditioner: mlp },
      { type: 'additiveCoupling', mask: 'alternating', parity: 1, conditioner: { ...mlp, activation: 'tanh' } },
      { type: 'scale' },
    ]),
    img('nice-image', [2, 4, 4], [
      { type: 'additiveCoupling', mask: 'checkerboard', parity: 0, conditioner: cnn },
      { type: 'additiveCoupling', mask: 'channel', parity: 1, conditioner: cnn },
      { type: 'scale' },
    ]),
    vec('realnvp-vector', 6, [
      { type: 'affineCoupling', mask: 'half', parity: 0, scale: 'tanhExp', conditioner: mlp },
      { type: 'affineCoupling', mask: 'alternating', parity: 1, scale: 'sigmoid', conditioner: mlp },
    ]),
    img('realnvp-image', [2, 4, 4], [
      { type: 'affineCoupling', mask: 'checkerboard', parity: 0, scale: 'tanhExp', conditioner: cnn },
      { type: 'affineCoupling', mask: 'channel', parity: 1, scale: 'sigmoid', conditioner: cnn },
    ]),
    vec('actnorm-invconv-vector', 4, [
      { type: 'actNorm' },
      { type: 'invConv1x1', variant: 'plain' },
      { type: 'invConv1x1', variant: 'lu' },
      { type: 'affineCoupling', mask: 'half', parity: 1, scale: 'sigmoid', conditioner: mlp },
    ]),
    img('glow-multiscale', [2, 4, 4], [
      { type: 'squeeze' },
      { type: 'actNorm' },
      { type: 'invConv1x1', variant: 'lu' },
      { type: 'affineCoupling', mask: 'channel', parity: 0, scale: 'sigmoid', conditioner: cnn },
      { type: 'split', prior: 'conditional' },
      { type: 'squeeze' },
      { type: 'actNorm' },
      { type: 'invConv1x1', variant: 'plain' },
      { type: 'affineCoupling', mask: 'channel', parity: 1, scale: 'sigmoid', conditioner: cnn },
    ]),
    img('realnvp-logit-multiscale', [1, 4, 4], [
      { type: 'logit', alpha: 0.05 },
      { type: 'affineCoupling', mask: 'checkerboard', parity: 0, scale: 'tanhExp', conditioner: cnn },
      { type: 'squeeze' },
      { type: 'affineCoupling', mask: 'channel', parity: 0, scale: 'tanhExp', conditioner: cnn },
      { type: 'split', prior: 'normal' },
      { type: 'affineCoupling', mask: 'checkerboard', parity: 1, scale: 'tanhExp', conditioner: cnn },
    ], 'unit'),
    vec('maf-vector', 5, [
      { type: 'maf', hidden: [10], order: 'natural' },
      { type: 'permute', kind: 'reverse' },
      { type: 'maf', hidden: [10, 10], order: 'random', seed: 3, activation: 'tanh' },
    ]),
    vec('standardize-vector', 4, [
      { type: 'standardize' },
      { type: 'affineCoupling', mask: 'half', parity: 0, scale: 'tanhExp', conditioner: mlp },
    ]),
    vec('iaf-vector', 5, [
      { type: 'iaf', hidden: [10], order: 'natural' },
      { type: 'permute', kind: 'random', seed: 1 },
      { type: 'iaf', hidden: [10], order: 'reverse' },
    ]),
    vec('gf-vector', 4, [
      { type: 'gaussianize', components: 3 },
      { type: 'householder', reflections: 2 },
      { type: 'gaussianize', components: 4 },
      { type: 'householder', reflections: 3 },
    ]),
    vec('spline-coupling-vector', 5, [
      { type: 'splineCoupling', mask: 'half', parity: 0, conditioner: mlp, bins: 5, bound: 2 },
      { type: 'splineCoupling', mask: 'alternating', parity: 1, conditioner: { ...mlp, activation: 'tanh' }, bins: 4, bound: 2.5 },
    ]),
    // A narrow CNN: the perturbed 8-channel one gives raw spline parameters ~5, bins with slopes
    // ~1e-7 that no float32 engine can invert (z rounded to float32 alone moves x by 0.7).
    img('spline-coupling-image', [2, 4, 4], [
      { type: 'splineCoupling', mask: 'checkerboard', parity: 0, conditioner: { type: 'cnn', hidden: 2 }, bins: 4, bound: 2 },
      { type: 'splineCoupling', mask: 'channel', parity: 1, conditioner: { type: 'cnn', hidden: 2 }, bins: 5, bound: 2 },
    ]),
    img('mintnet-multiscale', [2, 4, 4], [
      { type: 'mintBlock', hidden: 2, order: 'natural' },
      { type: 'actNorm' },
      { type: 'mintBlock', hidden: 2, order: 'reverse', damping: 1, iterations: 40 },
      { type: 'squeeze' },
      { type: 'mintBlock', hidden: 1, order: 'natural' },
      { type: 'split', prior: 'normal' },
    ]),
    vec('spline-autoregressive-vector', 4, [
      { type: 'splineAutoregressive', hidden: [10], order: 'natural', bins: 5, bound: 2 },
      { type: 'permute', kind: 'reverse' },
      { type: 'splineAutoregressive', hidden: [10], order: 'random', seed: 2, activation: 'tanh', bins: 4, bound: 2.5 },
    ]),
  ];
}

/** The case's flow with seeded, perturbed parameters (no layer is the identity). */
export function caseFlow(c: FlowCase, seed = 7, std = 0.2): Flow {
  return perturbParams(createFlow(c.spec, { seed }), std, seed + 1);
}

/**
 * Moves every trainable parameter of `flow` (in place) by N(0, std²) noise drawn from
 * `seed`, so no layer is the identity (fresh couplings and MADEs are, by design).
 */
export function perturbParams(flow: Flow, std: number, seed: number): Flow {
  const rng = new Rng(seed);
  for (const [name, p] of Object.entries(flow.params)) {
    if (flow.paramDecls[name]!.trainable === false) continue;
    for (let i = 0; i < p.data.length; i++) p.data[i]! += std * rng.normal();
  }
  return flow;
}

/** A float32-representable input batch for the case. */
export function caseInput(c: FlowCase, n: number, seed = 11): Tensor {
  const rng = new Rng(seed);
  const size = n * sizeOf(c.spec.event);
  const data = new Float64Array(size);
  for (let i = 0; i < size; i++) data[i] = c.domain === 'unit' ? 0.02 + 0.96 * rng.uniform() : rng.normal();
  return { data: Float64Array.from(Float32Array.from(data)), shape: [n, ...c.spec.event] };
}
