import type { FlowSpec, LayerSpec } from '@bijective/core';
import { PresetError, checkEvent, flowSpec, positiveInt } from './common.js';

/**
 * MintNet (Song, Meng & Ermon, NeurIPS 2019, https://arxiv.org/abs/1907.07945) for images
 * `[C, H, W]`: a logit, then one level per entry of `steps`, the first at the input
 * resolution and every later one after a squeeze (H, W halve, C quadruples). A level of
 * K = `steps[l]` is K paired Mint layers, each
 *   ActNorm → mintBlock (natural order) → mintBlock (reverse order)
 * (the two triangular orders make every element depend on every other); mintBlock's hidden
 * width is `hidden`·C (the paper's "latent size"). Before every squeeze after the first, a
 * split factors out half the channels with Glow's learned conditional prior.
 *
 * The paper's MNIST network (official code, configs/mnist_density_config.yml) is steps
 * [6, 6, 8] (20 pairs, 2 squeezes), hidden 45, logit λ = 1e-6, and no split; here the split
 * is on by default (as in Glow and RealNVP: it halves the work of the last level) and the
 * logit α is RealNVP's 0.05, and ActNorm (data-initialised) precedes each pair so that the
 * near-identity blocks start on standardised inputs. H and W must be divisible by 2^(levels − 1).
 *
 * Sampling inverts each block by its fixed-point iteration (`iterations` steps, see mintBlock).
 *
 * @example mintnetFlow({ event: [1, 28, 28], steps: [1, 2, 2], hidden: 8 })
 */
export interface MintnetOptions {
  event: number[];
  /** Paired Mint layers per level (default [1, 2, 2]); level 0 is at the input resolution. */
  steps?: number[];
  /** mintBlock hidden multiplier L: its convolutions have L·C channels (default 8; the paper: 45). */
  hidden?: number;
  /** The logit layer's α (default 0.05). */
  logitAlpha?: number;
  /** The prior of the factored-out halves (default 'conditional'); 'none': no split. */
  splitPrior?: 'conditional' | 'normal' | 'none';
  /** Fixed-point iterations of each block's inverse (default: mintBlock's, 50). */
  iterations?: number;
  name?: string;
}

export function mintnetFlow(options: MintnetOptions): FlowSpec {
  const { event } = options;
  checkEvent('mintnet', event);
  if (event.length !== 3) throw new PresetError(`mintnet: needs an image event [C, H, W], got [${event.join(', ')}]`);
  const steps = options.steps ?? [1, 2, 2];
  if (steps.length === 0) throw new PresetError('mintnet: steps must list at least one level, got []');
  steps.forEach((k, l) => positiveInt('mintnet', `steps[${l}]`, k));
  const hidden = positiveInt('mintnet', 'hidden', options.hidden ?? 8);
  const alpha = options.logitAlpha ?? 0.05;
  if (!(alpha > 0 && alpha < 0.5)) throw new PresetError(`mintnet: logitAlpha must be in (0, 0.5), got ${alpha}`);
  const iterations = options.iterations === undefined ? {} : { iterations: positiveInt('mintnet', 'iterations', options.iterations) };
  const squeezes = steps.length - 1;
  const [, h, w] = event as [number, number, number];
  if (h % 2 ** squeezes !== 0 || w % 2 ** squeezes !== 0) {
    throw new PresetError(`mintnet: ${steps.length} levels squeeze H and W ${squeezes} times; [${event.join(', ')}] is not divisible by ${2 ** squeezes}`);
  }
  const split = options.splitPrior ?? 'conditional';
  const layers: LayerSpec[] = [{ type: 'logit', alpha }];
  steps.forEach((k, l) => {
    if (l > 0) {
      if (l > 1 && split !== 'none') layers.push({ type: 'split', prior: split });
      layers.push({ type: 'squeeze' });
    }
    for (let i = 0; i < k; i++) {
      layers.push(
        { type: 'actNorm' },
        { type: 'mintBlock', hidden, order: 'natural', ...iterations },
        { type: 'mintBlock', hidden, order: 'reverse', ...iterations },
      );
    }
  });
  return flowSpec(event, layers, options.name);
}
