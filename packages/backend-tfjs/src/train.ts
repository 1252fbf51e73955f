import { trainFlow, type Flow, type TrainData, type TrainOptions as CoreTrainOptions, type TrainResult } from '@bijective/core';
import { tfjsGradients } from './gradient-engine.js';

/** Options of {@link train}: core's trainer options, and which tfjs engine runs it. */
export interface TrainOptions extends CoreTrainOptions {
  /** A tfjs engine name, or `auto` (default): the fastest available. */
  engine?: string;
}

/**
 * Trains `flow` by maximum likelihood on `data` on a tfjs engine: core's `trainFlow` (batching,
 * dequantisation, data-dependent init, Adam, clipping, schedule, non-finite rejection and
 * rollback, checkpoints, bit-identical resume, progress) driving this package's
 * GradientEngine ({@link tfjsGradients}). Kept for callers of the tfjs-only trainer; any
 * engine that trains takes `trainFlow(await openGradients(engine), flow, data, options)`.
 */
export async function train(flow: Flow, data: TrainData, options: TrainOptions = {}): Promise<TrainResult> {
  const { engine, ...rest } = options;
  return trainFlow(await tfjsGradients(engine), flow, data, rest);
}
