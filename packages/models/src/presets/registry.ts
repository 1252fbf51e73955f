import type { FlowSpec } from '@bijective/core';
import { iafFlow, mafFlow } from './autoregressive.js';
import { glowFlow } from './glow.js';
import { niceFlow } from './nice.js';
import { realnvpFlow } from './realnvp.js';
import { gaussianizationFlow } from './gaussianization.js';
import { nsfFlow } from './nsf.js';
import { mintnetFlow } from './mintnet.js';

/** A preset's family: the first segment of its name (gf = Gaussianization flow). */
export type PresetFamily = 'nice' | 'realnvp' | 'glow' | 'maf' | 'iaf' | 'nsf' | 'gf' | 'mintnet';

/** Training settings a preset is meant to be trained with (the CLI's defaults). */
export interface TrainingDefaults {
  steps: number;
  batch: number;
  /** Peak Adam learning rate. */
  lr: number;
}

/** A named flow: its spec, what it is for, and how to train it. */
export interface Preset {
  readonly name: string;
  readonly family: PresetFamily;
  readonly description: string;
  /** The dataset it is made for (the CLI's default `--dataset`). */
  readonly dataset: string;
  readonly training: TrainingDefaults;
  /** A fresh spec (callers may change it). */
  spec(): FlowSpec;
  /**
   * Vector presets that fit any dimension: the same architecture on vectors of `dim`
   * (`bijective train --data FILE` takes the dimension from the data).
   */
  specForDim?(dim: number): FlowSpec;
}

const FMNIST: [number, number, number] = [1, 28, 28];

function preset(name: string, family: PresetFamily, dataset: string, description: string, training: TrainingDefaults, spec: () => FlowSpec): Preset {
  return { name, family, dataset, description, training, spec };
}

/** A vector preset of any dimension: `spec()` is `specForDim(2)`. */
function vectorPreset(name: string, family: PresetFamily, dataset: string, description: string, training: TrainingDefaults, specForDim: (dim: number) => FlowSpec): Preset {
  return { name, family, dataset, description, training, spec: () => specForDim(2), specForDim };
}

const toy: TrainingDefaults = { steps: 5000, batch: 256, lr: 1e-3 };

/** Every named preset, by name. */
export const presets: Readonly<Record<string, Preset>> = Object.fromEntries(
  [
    vectorPreset('nice-2d', 'nice', 'mixture', '2-D NICE: 6 additive couplings (MLP 64-64) + scale; vectors of any D with --data', toy, (dim) =>
      niceFlow({ event: [dim], couplings: 6, hidden: [64, 64], name: 'nice-2d' }),
    ),
    vectorPreset('realnvp-2d', 'realnvp', 'mixture', '2-D RealNVP: 8 affine couplings (MLP 64-64, tanh-bounded scale); vectors of any D with --data', toy, (dim) =>
      realnvpFlow({ event: [dim], couplings: 8, hidden: [64, 64], name: 'realnvp-2d' }),
    ),
    vectorPreset('maf-2d', 'maf', 'mixture', '2-D MAF: 5 MADE blocks (64-64) with reversals; vectors of any D with --data', toy, (dim) =>
      mafFlow({ event: [dim], blocks: 5, hidden: [64, 64], name: 'maf-2d' }),
    ),
    vectorPreset('iaf-2d', 'iaf', 'mixture', '2-D IAF: 5 MADE blocks (64-64) with reversals; vectors of any D with --data', toy, (dim) =>
      iafFlow({ event: [dim], blocks: 5, hidden: [64, 64], name: 'iaf-2d' }),
    ),
    vectorPreset('gf-2d', 'gf', 'mixture', '2-D Gaussianization flow: 10 × (logistic-mixture gaussianize, K = 16 → 2 Householder reflections) + gaussianize; vectors of any D with --data', toy, (dim) =>
      gaussianizationFlow({ event: [dim], blocks: 10, components: 16, reflections: 2, name: 'gf-2d' }),
    ),
    vectorPreset('nsf-2d', 'nsf', 'mixture', '2-D neural spline flow: 4 rational-quadratic spline couplings (8 bins on [−5, 5], MLP 64-64); vectors of any D with --data', toy, (dim) =>
      nsfFlow({ event: [dim], transform: 'coupling', layers: 4, hidden: [64, 64], bins: 8, bound: 5, name: 'nsf-2d' }),
    ),
    vectorPreset('nsf-maf-2d', 'nsf', 'mixture', '2-D autoregressive neural spline flow: 4 RQ-spline MADE blocks (8 bins on [−5, 5], 64-64) with reversals; vectors of any D with --data', toy, (dim) =>
      nsfFlow({ event: [dim], transform: 'autoregressive', layers: 4, hidden: [64, 64], bins: 8, bound: 5, name: 'nsf-maf-2d' }),
    ),
    preset('nice-mnist', 'nice', 'mnist', 'NICE on MNIST as 784-vectors: logit, 4 additive couplings (even/odd features, MLP 512-512) + scale', { steps: 20000, batch: 64, lr: 1e-3 }, () =>
      niceFlow({ event: [784], couplings: 4, hidden: [512, 512], mask: 'alternating', logitAlpha: 0.05, name: 'nice-mnist' }),
    ),
    preset('realnvp-fmnist', 'realnvp', 'fmnist', 'RealNVP on 1×28×28: logit, 2 scales (checkerboard ×3, squeeze, channel ×3, split) + 4 checkerboard, CNN 64', { steps: 20000, batch: 64, lr: 1e-3 }, () =>
      realnvpFlow({ event: FMNIST, scales: 2, finalCouplings: 4, hiddenChannels: 64, name: 'realnvp-fmnist' }),
    ),
    preset('glow-fmnist-small', 'glow', 'fmnist', 'Glow on 1×28×28: L = 2, K = 8, CNN 64, LU 1×1 convolutions, learned split prior', { steps: 20000, batch: 64, lr: 1e-3 }, () =>
      glowFlow({ event: FMNIST, levels: 2, steps: 8, hidden: 64, invConv: 'lu', name: 'glow-fmnist-small' }),
    ),
    preset('glow-fmnist-cond-small', 'glow', 'fmnist', 'class-conditional Glow on 1×28×28 (train with --condition-on label): glow-fmnist-small whose CNNs and split priors read the one-hot class, learned conditional Gaussian base', { steps: 20000, batch: 64, lr: 1e-3 }, () => ({
      ...glowFlow({ event: FMNIST, levels: 2, steps: 8, hidden: 64, invConv: 'lu', name: 'glow-fmnist-cond-small' }),
      context: [10],
      base: 'conditionalGaussian',
    })),
    preset('glow-fmnist', 'glow', 'fmnist', 'Glow on 1×28×28: L = 2, K = 16, CNN 256, LU 1×1 convolutions (the one to train long)', { steps: 100000, batch: 64, lr: 1e-3 }, () =>
      glowFlow({ event: FMNIST, levels: 2, steps: 16, hidden: 256, invConv: 'lu', name: 'glow-fmnist' }),
    ),
    preset('nsf-fmnist', 'nsf', 'fmnist', 'neural spline flow on 1×28×28 (Durkan et al. §5.3): Glow skeleton L = 2, K = 4 of ActNorm → LU 1×1 conv → RQ-spline coupling (8 bins on [−4, 4], CNN 64)', { steps: 20000, batch: 64, lr: 5e-4 }, () =>
      nsfFlow({ event: FMNIST, transform: 'coupling', levels: 2, layers: 4, hidden: [64], bins: 8, bound: 4, name: 'nsf-fmnist' }),
    ),
    preset('mintnet-fmnist-small', 'mintnet', 'fmnist', 'MintNet on 1×28×28: logit, paired Mint layers (ActNorm → masked-conv mintBlock natural → reverse, hidden 4·C) 1 at 28×28, squeeze, 2 at 4×14×14, split, squeeze, 2 at 8×7×7', { steps: 4000, batch: 64, lr: 1e-3 }, () =>
      mintnetFlow({ event: FMNIST, steps: [1, 2, 2], hidden: 4, name: 'mintnet-fmnist-small' }),
    ),
    preset('mintnet-fmnist', 'mintnet', 'fmnist', "MintNet on 1×28×28 at the paper's MNIST scale: logit, 6 + 6 + 8 paired Mint layers (hidden 45·C) at 28×28, 4×14×14 and 8×7×7, squeeze/split between, 100 inverse iterations per block (the one to train long)", { steps: 100000, batch: 32, lr: 1e-3 }, () =>
      mintnetFlow({ event: FMNIST, steps: [6, 6, 8], hidden: 45, iterations: 100, name: 'mintnet-fmnist' }),
    ),
    preset('gf-784', 'gf', 'fmnist', 'Gaussianization flow on 784-vectors: logit, 8 × (logistic-mixture gaussianize, K = 16 → 32 Householder reflections) + gaussianize', { steps: 20000, batch: 64, lr: 1e-3 }, () =>
      gaussianizationFlow({ event: [784], blocks: 8, components: 16, reflections: 32, logitAlpha: 0.05, name: 'gf-784' }),
    ),
    preset('maf-784', 'maf', 'fmnist', 'MAF on 784-vectors: logit, 5 MADE blocks (1024) with reversals; fast density, sequential sampling', { steps: 20000, batch: 64, lr: 1e-4 }, () =>
      mafFlow({ event: [784], blocks: 5, hidden: [1024], logitAlpha: 0.05, name: 'maf-784' }),
    ),
    preset('iaf-784', 'iaf', 'fmnist', 'IAF on 784-vectors: logit, 5 MADE blocks (1024) with reversals; fast sampling, sequential density', { steps: 20000, batch: 64, lr: 1e-4 }, () =>
      iafFlow({ event: [784], blocks: 5, hidden: [1024], logitAlpha: 0.05, name: 'iaf-784' }),
    ),
  ].map((p) => [p.name, p]),
);

export class UnknownPresetError extends Error {
  override name = 'UnknownPresetError';
}

/** The preset called `name`; an unknown name is an error listing the known ones. */
export function getPreset(name: string): Preset {
  const p = Object.hasOwn(presets, name) ? presets[name] : undefined;
  if (!p) throw new UnknownPresetError(`unknown preset '${name}'; known presets: ${Object.keys(presets).join(', ')}`);
  return p;
}

/** The families as functions of their options, for flows that are not a named preset. */
export const families = { nice: niceFlow, realnvp: realnvpFlow, glow: glowFlow, maf: mafFlow, iaf: iafFlow, nsf: nsfFlow, mintnet: mintnetFlow,
  gaussianization: gaussianizationFlow } as const;
