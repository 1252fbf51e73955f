import type { FlowSpec, LayerSpec } from '@bijective/core';
import { PresetError, checkEvent, flowSpec, positiveInt } from './common.js';

/**
 * Autoregressive flows on vectors `[D]`: `blocks` MAF or IAF layers (MADE conditioners of
 * widths `hidden`), with a permutation between consecutive blocks so that every dimension is
 * transformed conditioned on every other one somewhere in the stack (`permute: 'reverse'`, as in
 * the MAF paper, or `'random'` with seeds derived from `seed`).
 *
 * - MAF (Papamakarios et al. 2017, https://arxiv.org/abs/1705.07057): density in one pass,
 *   sampling sequential in D.
 * - IAF (Kingma et al. 2016, https://arxiv.org/abs/1606.04934): sampling in one pass, density
 *   sequential in D.
 * At D = 784 the two make the density-vs-sampling speed trade-off visible.
 *
 * @example mafFlow({ event: [2], blocks: 5, hidden: [64, 64] })
 */
export interface AutoregressiveOptions {
  event: number[];
  /** MAF/IAF layers (default 5). */
  blocks?: number;
  /** MADE hidden widths (default [64, 64]). */
  hidden?: number[];
  /** Permutation between blocks (default 'reverse'). */
  permute?: 'reverse' | 'random';
  /** Seeds of the random permutations (block i uses seed + i); default 0. */
  seed?: number;
  /**
   * Prepend a `logit` layer with this α, for data in [0, 1) such as dequantised pixels (the MAF
   * paper's preprocessing for MNIST); absent: no logit.
   */
  logitAlpha?: number;
  /** Bound of the soft clamp on the log-scale (core's default 5 when absent). */
  logScaleClamp?: number;
  name?: string;
}

function autoregressiveFlow(type: 'maf' | 'iaf', options: AutoregressiveOptions): FlowSpec {
  const { event } = options;
  checkEvent(type, event);
  if (event.length !== 1) throw new PresetError(`${type}: works on vectors [D], got [${event.join(', ')}] (flatten images to [C·H·W])`);
  const blocks = positiveInt(type, 'blocks', options.blocks ?? 5);
  const seed = options.seed ?? 0;
  const layers: LayerSpec[] = options.logitAlpha !== undefined ? [{ type: 'logit', alpha: options.logitAlpha }] : [];
  for (let b = 0; b < blocks; b++) {
    if (b > 0) layers.push(options.permute === 'random' ? { type: 'permute', kind: 'random', seed: seed + b } : { type: 'permute', kind: 'reverse' });
    layers.push({
      type,
      hidden: options.hidden ?? [64, 64],
      activation: 'relu',
      order: 'natural',
      ...(options.logScaleClamp !== undefined ? { logScaleClamp: options.logScaleClamp } : {}),
    });
  }
  return flowSpec(event, layers, options.name);
}

export function mafFlow(options: AutoregressiveOptions): FlowSpec {
  return autoregressiveFlow('maf', options);
}

export function iafFlow(options: AutoregressiveOptions): FlowSpec {
  return autoregressiveFlow('iaf', options);
}
