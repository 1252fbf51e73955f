import type { FlowSpec, LayerSpec } from '@bijective/core';
import { checkEvent, flowSpec, isImage, parityOf, positiveInt } from './common.js';

/**
 * NICE (Dinh, Krueger & Bengio 2014, https://arxiv.org/abs/1410.8516): a stack of additive
 * couplings, each volume preserving, closed by a learned diagonal scaling (the only layer with
 * a non-zero log-det).
 *
 * - Vectors `[D]`: couplings alternate which half is transformed (`mask`, parity 0, 1, 0, …),
 *   each with an MLP conditioner (`hidden`, ReLU). With `mask: 'alternating'` (the paper's
 *   choice for MNIST as 784-vectors) the halves are the even and odd features.
 * - Images `[C, H, W]`: checkerboard couplings with alternating parity and Glow-style CNN
 *   conditioners of `hiddenChannels` channels.
 *
 * @example niceFlow({ event: [2], couplings: 6, hidden: [64, 64] })
 */
export interface NiceOptions {
  event: number[];
  /** Additive couplings (default 4, the paper's number). */
  couplings?: number;
  /** Vectors: MLP hidden widths (default [64, 64]). */
  hidden?: number[];
  /** Vectors: `half` (default: first half / second half) or `alternating` (even / odd features). */
  mask?: 'half' | 'alternating';
  /** Images: conditioner CNN width (default 64). */
  hiddenChannels?: number;
  /** Prepend a `logit` layer with this α (data in [0, 1)); absent: no logit. */
  logitAlpha?: number;
  name?: string;
}

export function niceFlow(options: NiceOptions): FlowSpec {
  const { event } = options;
  checkEvent('nice', event);
  const couplings = positiveInt('nice', 'couplings', options.couplings ?? 4);
  const layers: LayerSpec[] = options.logitAlpha !== undefined ? [{ type: 'logit', alpha: options.logitAlpha }] : [];
  for (let i = 0; i < couplings; i++) {
    const parity = parityOf(i);
    layers.push(
      isImage(event)
        ? { type: 'additiveCoupling', mask: 'checkerboard', parity, conditioner: { type: 'cnn', hidden: options.hiddenChannels ?? 64 } }
        : { type: 'additiveCoupling', mask: options.mask ?? 'half', parity, conditioner: { type: 'mlp', hidden: options.hidden ?? [64, 64], activation: 'relu' } },
    );
  }
  layers.push({ type: 'scale' });
  return flowSpec(event, layers, options.name);
}
