import type { FlowSpec, LayerSpec } from '@bijective/core';
import { PresetError, checkEvent, flowSpec, isImage, positiveInt } from './common.js';

/**
 * Gaussianization flows (Meng, Song, Song & Ermon 2020, https://arxiv.org/abs/2003.01941):
 * `blocks` times a trainable marginal Gaussianization (`gaussianize`: per dimension
 * Φ⁻¹ ∘ a mixture of `components` logistic CDFs, means initialised at data quantiles) followed
 * by a learned rotation (`householder`: a product of `reflections` Householder reflections),
 * then one last marginal Gaussianization. Vectors `[D]`, D ≥ 2.
 *
 * @example gaussianizationFlow({ event: [2], blocks: 10, components: 16 })
 */
export interface GaussianizationOptions {
  event: number[];
  /** Gaussianize → rotate blocks before the last gaussianize (default 10). */
  blocks?: number;
  /** Logistic components per dimension (default 16). */
  components?: number;
  /** Householder reflections per rotation (default 2; D gives any orthogonal map). */
  reflections?: number;
  /** Prepend a `logit` layer with this α (data in [0, 1), e.g. pixels as 784-vectors); absent: no logit. */
  logitAlpha?: number;
  name?: string;
}

export function gaussianizationFlow(options: GaussianizationOptions): FlowSpec {
  const { event } = options;
  checkEvent('gaussianization', event);
  if (isImage(event) || event[0]! < 2) {
    throw new PresetError(`gaussianization: a vector flow [D] with D >= 2 (flatten images), got [${event.join(', ')}]`);
  }
  const blocks = positiveInt('gaussianization', 'blocks', options.blocks ?? 10);
  const components = positiveInt('gaussianization', 'components', options.components ?? 16);
  const reflections = positiveInt('gaussianization', 'reflections', options.reflections ?? 2);
  const layers: LayerSpec[] = options.logitAlpha !== undefined ? [{ type: 'logit', alpha: options.logitAlpha }] : [];
  for (let i = 0; i < blocks; i++) layers.push({ type: 'gaussianize', components }, { type: 'householder', reflections });
  layers.push({ type: 'gaussianize', components });
  return flowSpec(event, layers, options.name);
}
