import type { FlowSpec, LayerSpec } from '@bijective/core';
import { PresetError, checkEvent, flowSpec, positiveInt } from './common.js';

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
 * @example nsfFlow({ event: [2], transform: 'coupling', layers: 4, hidden: [64, 64], bins: 8, bound: 5 })
 */
export interface NsfOptions {
  event: number[];
  transform: 'coupling' | 'autoregressive';
  /** Spline layers (default 4). */
  layers?: number;
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
  if (event.length !== 1) throw new PresetError(`nsf: works on vectors [D], got [${event.join(', ')}] (flatten images to [C·H·W])`);
  if (options.transform === 'coupling' && event[0]! < 2) throw new PresetError(`nsf: a coupling flow needs D >= 2, got [${event.join(', ')}]`);
  const count = positiveInt('nsf', 'layers', options.layers ?? 4);
  const bins = positiveInt('nsf', 'bins', options.bins ?? 8, 2);
  const bound = options.bound ?? 5;
  if (!(bound > 0 && Number.isFinite(bound))) throw new PresetError(`nsf: bound must be a positive number, got ${bound}`);
  const hidden = options.hidden ?? [64, 64];
  const layers: LayerSpec[] = [];
  for (let i = 0; i < count; i++) {
    if (options.transform === 'coupling') {
      layers.push({ type: 'splineCoupling', mask: 'half', parity: i % 2, conditioner: { type: 'mlp', hidden, activation: 'relu' }, bins, bound });
    } else {
      if (i > 0) layers.push({ type: 'permute', kind: 'reverse' });
      layers.push({ type: 'splineAutoregressive', hidden, activation: 'relu', order: 'natural', bins, bound });
    }
  }
  return flowSpec(event, layers, options.name);
}
