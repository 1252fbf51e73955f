import type { FlowSpec, LayerSpec } from '@bijective/core';
import { PresetError, checkEvent, flowSpec, isImage, parityOf, positiveInt } from './common.js';
import { multiScaleSteps } from './glow.js';

/**
 * Neural spline flows (Durkan, Bekasov, Murray & Papamakarios 2019,
 * https://arxiv.org/abs/1906.04032) on vectors `[D]`: `layers` monotone rational-quadratic
 * spline transforms of `bins` bins on `[−bound, bound]` (identity outside), either
 *
 * - `transform: 'coupling'` (RQ-NSF (C)): `splineCoupling` layers alternating the transformed
 *   half, MLP conditioners of widths `hidden`; density and sampling both one pass;
 * - `transform: 'autoregressive'` (RQ-NSF (AR)): `splineAutoregressive` layers (MADE of widths
 *   `hidden`) with a reversal between consecutive layers; density one pass, sampling sequential in D.
 *
 * The bound should cover the data (the 2-D mixture lies within about ±5).
 *
 * On images `[C, H, W]` (coupling only) the flow is the paper's image architecture (§5.3):
 * Glow's multi-scale skeleton ({@link multiScaleSteps}: `levels` levels of squeeze, then
 * `layers` steps of ActNorm → LU 1×1 convolution → channel-mask spline coupling with a CNN
 * conditioner of `hidden[0]` channels; a split with a learned prior between levels). Pixels go
 * in on the [0, 1) scale; the first ActNorm standardises them, so a bound of 3–5 covers them.
 *
 * @example nsfFlow({ event: [2], transform: 'coupling', layers: 4, hidden: [64, 64], bins: 8, bound: 5 })
 * @example nsfFlow({ event: [1, 28, 28], transform: 'coupling', levels: 2, layers: 4, hidden: [64], bins: 8, bound: 4 })
 */
export interface NsfOptions {
  event: number[];
  transform: 'coupling' | 'autoregressive';
  /** Spline layers (default 4); on images, steps per level. */
  layers?: number;
  /** Images: the number of multi-scale levels (default 2). */
  levels?: number;
  /** Vectors: prepend a `logit` layer with this α (data in [0, 1), e.g. pixels); absent: no logit. */
  logitAlpha?: number;
  /** Conditioner hidden widths (default [64, 64]). */
  hidden?: number[];
  /** Bins K per spline (default 8). */
  bins?: number;
  /** Half-width B of the spline interval (default 5). */
  bound?: number;
  name?: string;
}

export function nsfFlow(options: NsfOptions): FlowSpec {
  const { event } = options;
  checkEvent('nsf', event);
  if (isImage(event) && options.transform !== 'coupling') throw new PresetError(`nsf: images [C, H, W] take transform 'coupling', got '${options.transform}'`);
  if (options.transform === 'coupling' && !isImage(event) && event[0]! < 2) throw new PresetError(`nsf: a coupling flow needs D >= 2, got [${event.join(', ')}]`);
  const count = positiveInt('nsf', 'layers', options.layers ?? 4);
  const bins = positiveInt('nsf', 'bins', options.bins ?? 8, 2);
  const bound = options.bound ?? 5;
  if (!(bound > 0 && Number.isFinite(bound))) throw new PresetError(`nsf: bound must be a positive number, got ${bound}`);
  const hidden = options.hidden ?? [64, 64];
  if (isImage(event)) {
    const channels = positiveInt('nsf', 'hidden[0] (CNN channels)', hidden[0] ?? 64);
    const coupling: LayerSpec = { type: 'splineCoupling', mask: 'channel', parity: 0, conditioner: { type: 'cnn', hidden: channels }, bins, bound };
    return flowSpec(event, multiScaleSteps('nsf', event, { levels: positiveInt('nsf', 'levels', options.levels ?? 2), steps: count }, coupling), options.name);
  }
  const layers: LayerSpec[] = options.logitAlpha !== undefined ? [{ type: 'logit', alpha: options.logitAlpha }] : [];
  for (let i = 0; i < count; i++) {
    if (options.transform === 'coupling') {
      layers.push({ type: 'splineCoupling', mask: 'half', parity: parityOf(i), conditioner: { type: 'mlp', hidden, activation: 'relu' }, bins, bound });
    } else {
      if (i > 0) layers.push({ type: 'permute', kind: 'reverse' });
      layers.push({ type: 'splineAutoregressive', hidden, activation: 'relu', order: 'natural', bins, bound });
    }
  }
  return flowSpec(event, layers, options.name);
}
