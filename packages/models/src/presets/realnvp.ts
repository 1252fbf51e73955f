import type { ConditionerInput, FlowSpec, LayerSpec } from '@bijective/core';
import { PresetError, checkEvent, flowSpec, isImage, parityOf, positiveInt } from './common.js';

/**
 * RealNVP (Dinh, Sohl-Dickstein & Bengio 2016, https://arxiv.org/abs/1605.08803): affine
 * couplings `y_b = x_b ⊙ exp(s(x_a)) + t(x_a)` with `s = σ_f ⊙ tanh(·)` (`scale: 'tanhExp'`).
 *
 * - Vectors `[D]`: `couplings` affine couplings alternating the transformed half, MLP
 *   conditioners of widths `hidden`.
 * - Images `[C, H, W]` (the paper's §3.6 multi-scale architecture): `logit` preprocessing
 *   (data in [0, 1), squeezed by `alpha`, §4.1), then `scales` times: 3 checkerboard couplings
 *   (alternating parity) → squeeze → 3 channel couplings → split (half the channels leave as
 *   latents with a standard normal prior); then `finalCouplings` checkerboard couplings on what
 *   is left. Each scale halves H and W, so they must be divisible by 2^scales. Conditioners are
 *   CNNs of `hiddenChannels` channels (the paper's ResNets are replaced by Glow's 3-layer CNN).
 *
 * @example realnvpFlow({ event: [2], couplings: 8, hidden: [64, 64] })
 * @example realnvpFlow({ event: [1, 28, 28], scales: 2, hiddenChannels: 64 })
 */
export interface RealNvpOptions {
  event: number[];
  /** Vectors: number of couplings (default 8). */
  couplings?: number;
  /** Vectors: MLP hidden widths (default [64, 64]). */
  hidden?: number[];
  /** Images: number of scales (default 2). */
  scales?: number;
  /** Images: checkerboard couplings after the last scale (default 4, as in the paper). */
  finalCouplings?: number;
  /** Images: conditioner CNN width (default 64). */
  hiddenChannels?: number;
  /** Images: the logit layer's α (default 0.05, the paper's value for MNIST-like data). */
  alpha?: number;
  name?: string;
}

export function realnvpFlow(options: RealNvpOptions): FlowSpec {
  const { event } = options;
  checkEvent('realnvp', event);
  if (!isImage(event)) {
    if (event[0]! < 2) throw new PresetError(`realnvp: a vector flow needs D >= 2, got [${event.join(', ')}]`);
    const couplings = positiveInt('realnvp', 'couplings', options.couplings ?? 8);
    const conditioner: ConditionerInput = { type: 'mlp', hidden: options.hidden ?? [64, 64], activation: 'relu' };
    const layers: LayerSpec[] = Array.from({ length: couplings }, (_, i) => ({
      type: 'affineCoupling',
      mask: 'half',
      parity: parityOf(i),
      conditioner,
      scale: 'tanhExp',
    }));
    return flowSpec(event, layers, options.name);
  }
  const scales = positiveInt('realnvp', 'scales', options.scales ?? 2, 0);
  const finalCouplings = positiveInt('realnvp', 'finalCouplings', options.finalCouplings ?? 4);
  const conditioner: ConditionerInput = { type: 'cnn', hidden: options.hiddenChannels ?? 64 };
  let [c, h, w] = event;
  if (h % 2 ** scales !== 0 || w % 2 ** scales !== 0) {
    throw new PresetError(`realnvp: ${scales} scales halve H and W ${scales} times; [${event.join(', ')}] is not divisible by ${2 ** scales}`);
  }
  const coupling = (mask: 'checkerboard' | 'channel', parity: 0 | 1): LayerSpec => ({ type: 'affineCoupling', mask, parity, conditioner, scale: 'tanhExp' });
  const layers: LayerSpec[] = [{ type: 'logit', alpha: options.alpha ?? 0.05 }];
  for (let s = 0; s < scales; s++) {
    for (let i = 0; i < 3; i++) layers.push(coupling('checkerboard', parityOf(i)));
    layers.push({ type: 'squeeze' });
    [c, h, w] = [4 * c, h / 2, w / 2];
    for (let i = 0; i < 3; i++) layers.push(coupling('channel', parityOf(i)));
    layers.push({ type: 'split', prior: 'normal' });
    c = Math.floor(c / 2); // split keeps ⌊C/2⌋ channels
  }
  if (h * w < 2) throw new PresetError(`realnvp: after ${scales} scales the image is ${c}×${h}×${w}, too small for a checkerboard`);
  for (let i = 0; i < finalCouplings; i++) layers.push(coupling('checkerboard', parityOf(i)));
  return flowSpec(event, layers, options.name);
}
