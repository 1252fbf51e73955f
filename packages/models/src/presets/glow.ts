import type { FlowSpec, LayerSpec } from '@bijective/core';
import { PresetError, checkEvent, flowSpec, positiveInt } from './common.js';

/**
 * Glow (Kingma & Dhariwal 2018, https://arxiv.org/abs/1807.03039) for images `[C, H, W]`:
 * `levels` (L) levels, each a squeeze then `steps` (K) steps of
 *   ActNorm → invertible 1×1 convolution (`lu` by default) → affine coupling
 *   (channel mask, sigmoid scale, CNN conditioner of `hidden` channels),
 * with a split between levels (half the channels leave as latents, with Glow's learned
 * conditional prior by default). Each level halves H and W, so they must be divisible by 2^L:
 * 28 = 2²·7 allows L ≤ 2.
 *
 * Data go in on the [0, 1) scale (dequantised pixels); the first ActNorm's data-dependent
 * initialisation centres and scales them, so no logit is needed.
 *
 * @example glowFlow({ event: [1, 28, 28], levels: 2, steps: 8, hidden: 64 })
 */
export interface GlowOptions {
  event: number[];
  /** L, the number of levels (default 2). */
  levels?: number;
  /** K, steps of flow per level (default 8). */
  steps?: number;
  /** Width of the coupling CNNs (default 64; the paper uses 512). */
  hidden?: number;
  /** The 1×1 convolution's parameterisation (default 'lu'). */
  invConv?: 'lu' | 'plain';
  /** The prior of the factored-out halves (default 'conditional', Glow's learned prior). */
  splitPrior?: 'conditional' | 'normal';
  /**
   * Lower bound of every coupling's sigmoid scale (default 0.1; `null` for the plain Glow scale,
   * as in the shipped glow-fmnist-small checkpoint). It keeps sampling from base noise finite:
   * each coupling's inverse divides by the scale, and a trained conditioner can drive the plain
   * scale to ~0.
   */
  scaleFloor?: number | null;
  /**
   * Soft bound c on the learned split prior's |log σ| (default 5, as MAF's scales; `null` for
   * Glow's unbounded prior, as in checkpoints trained before 2026-12-07). Unbounded, a 30-minute
   * glow-fmnist-small learned σ ≈ 1e-9 for some factored pixel, and one Fashion-MNIST test image
   * (index 4203) got 1e15 bits/dim: the test mean was that one image.
   */
  splitLogScaleClamp?: number | null;
  name?: string;
}

export function glowFlow(options: GlowOptions): FlowSpec {
  const { event } = options;
  checkEvent('glow', event);
  if (event.length !== 3) throw new PresetError(`glow: needs an image event [C, H, W], got [${event.join(', ')}]`);
  const levels = positiveInt('glow', 'levels', options.levels ?? 2);
  const steps = positiveInt('glow', 'steps', options.steps ?? 8);
  const hidden = positiveInt('glow', 'hidden', options.hidden ?? 64);
  const scaleFloor = options.scaleFloor === undefined ? 0.1 : options.scaleFloor;
  const coupling: LayerSpec = { type: 'affineCoupling', mask: 'channel', parity: 0, conditioner: { type: 'cnn', hidden }, scale: 'sigmoid', ...(scaleFloor !== null ? { scaleFloor } : {}) };
  const clamp = options.splitLogScaleClamp === undefined ? 5 : options.splitLogScaleClamp;
  const splitLogScaleClamp = (options.splitPrior ?? 'conditional') === 'conditional' && clamp !== null ? clamp : undefined;
  return flowSpec(event, multiScaleSteps('glow', event, { levels, steps, invConv: options.invConv, splitPrior: options.splitPrior, splitLogScaleClamp }, coupling), options.name);
}

/**
 * Glow's multi-scale skeleton on an image `[C, H, W]`: per level a squeeze, then `steps` times
 * ActNorm → invertible 1×1 convolution → `coupling` (a channel-mask coupling layer), with a
 * split between levels. Shared by Glow and the image neural spline flow.
 */
export function multiScaleSteps(
  family: string,
  event: readonly number[],
  options: { levels: number; steps: number; invConv?: 'lu' | 'plain' | undefined; splitPrior?: 'conditional' | 'normal' | undefined; splitLogScaleClamp?: number | undefined },
  coupling: LayerSpec,
): LayerSpec[] {
  const { levels, steps } = options;
  const [, h, w] = event as [number, number, number];
  if (h % 2 ** levels !== 0 || w % 2 ** levels !== 0) {
    throw new PresetError(`${family}: ${levels} levels squeeze H and W ${levels} times; [${event.join(', ')}] is not divisible by ${2 ** levels}`);
  }
  const layers: LayerSpec[] = [];
  for (let l = 0; l < levels; l++) {
    layers.push({ type: 'squeeze' });
    for (let k = 0; k < steps; k++) layers.push({ type: 'actNorm' }, { type: 'invConv1x1', variant: options.invConv ?? 'lu' }, structuredClone(coupling));
    if (l < levels - 1) {
      const clamp = options.splitLogScaleClamp;
      layers.push({ type: 'split', prior: options.splitPrior ?? 'conditional', ...(clamp !== undefined ? { logScaleClamp: clamp } : {}) });
    }
  }
  return layers;
}
