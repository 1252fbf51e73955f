import type { AdamOptions } from './adam.js';
import type { TrainData } from './batches.js';
import type { CheckpointIO } from './checkpoint-io.js';
import type { LrDecay } from './schedule.js';

/** Options of {@link trainFlow} (every engine's trainer: the engine is the GradientEngine it is given). */
export interface TrainOptions {
  /** Number of steps (mini-batches); or give `epochs`. */
  steps?: number;
  epochs?: number;
  /** Default 64 (capped at the data size). */
  batchSize?: number;
  /** Peak learning rate (default 1e-3). */
  lr?: number;
  /** Linear warm-up from 0 over this many steps (default 0). */
  warmupSteps?: number;
  /** Decay after the warm-up (default none). */
  decay?: LrDecay;
  adam?: AdamOptions;
  /** Clip the global gradient norm to this value (default: no clipping; the norm is reported either way). */
  clipGradNorm?: number;
  /** Seeds batch order and dequantisation noise (default 0). */
  seed?: number;
  /**
   * Uniform dequantisation: the data are integers in 0..bins−1 (e.g. 8-bit pixels), and each
   * step trains on `(k + u) / bins`, u ~ U[0, 1) drawn from the seed.
   */
  dequantize?: { bins?: number };
  /** Levels of the data behind the [0, 1) scale, for bits/dim of image flows (default: dequantize.bins, else 256). */
  bins?: number;
  /** Batch size of the data-dependent initialisation pass (ActNorm), default `batchSize`. */
  initBatchSize?: number;
  /** Held-out data evaluated every `evalEvery` steps and at the end. */
  validation?: TrainData;
  evalEvery?: number;
  /** Save a checkpoint every `every` steps (default 1000) and at the end. */
  checkpoint?: { dir: string; every?: number };
  /** Continue the run saved in this checkpoint folder (same flow spec, seed and batch size). */
  resume?: string;
  /** Checkpoint storage; default: the one the Node entry point installs. */
  checkpointIO?: CheckpointIO;
  /** Called after every step and on rejections, rollbacks, evaluations, checkpoints and initialisation. */
  onStep?: (progress: TrainProgress) => void | Promise<void>;
  /** Consecutive non-finite steps before a rollback (default 5). */
  maxConsecutiveFailures?: number;
  /** Learning-rate factor applied at each rollback (default 0.5). */
  lrBackoff?: number;
  /** Rollbacks before training gives up with a {@link TrainingDivergedError} (default 5). */
  maxRollbacks?: number;
  /** Steps between in-memory snapshots of the last good state (default 100; checkpoints also snapshot). */
  snapshotEvery?: number;
  /** Stops after the current step (the flow keeps the trained values; a checkpoint is saved if configured). */
  signal?: AbortSignal;
}

/** The training metric: bits/dim for images, nats/dim for vectors. */
export interface Metric {
  name: 'bitsPerDim' | 'natsPerDim';
  value: number;
}

export type TrainProgress =
  | {
      kind: 'step';
      step: number;
      totalSteps: number;
      epoch: number;
      /** −mean log p of the batch, nats per example. */
      loss: number;
      metric: Metric;
      /** Global gradient norm before clipping. */
      gradNorm: number;
      clipped: boolean;
      lr: number;
      examplesPerSecond: number;
      elapsedMs: number;
    }
  | { kind: 'rejected'; step: number; loss: number; gradNorm: number; consecutive: number; reason: string }
  | { kind: 'rollback'; step: number; toStep: number; lr: number; rollbacks: number; reason: string }
  | { kind: 'eval'; step: number; loss: number; metric: Metric; examples: number }
  | { kind: 'checkpoint'; step: number; dir: string }
  | { kind: 'init'; step: number; params: string[] };

export interface TrainResult {
  engine: string;
  /** Steps run in all (a resumed run counts the earlier ones). */
  steps: number;
  /** Accepted updates. */
  updates: number;
  /** Mean loss (nats per example) of the last accepted steps (up to 50). */
  loss: number;
  metric: Metric;
  /** Validation loss and metric at the end, when validation data were given. */
  validation?: { loss: number; metric: Metric };
  rejected: number;
  rollbacks: number;
  /** The learning-rate factor after rollbacks (1 when none). */
  lrScale: number;
  stopped: boolean;
}

export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
}

/** The trainer's state, kept in the checkpoint's meta under `training`. */
export interface TrainerState {
  step: number;
  updates: number;
  rejected: number;
  rollbacks: number;
  lrScale: number;
  seed: number;
  batchSize: number;
  adamT: number;
}

export function checkTrainerState(raw: unknown, dir: string): TrainerState {
  const s = raw as Partial<TrainerState> | undefined;
  const keys: (keyof TrainerState)[] = ['step', 'updates', 'rejected', 'rollbacks', 'lrScale', 'seed', 'batchSize', 'adamT'];
  for (const k of keys) {
    if (typeof s?.[k] !== 'number' || !Number.isFinite(s[k])) {
      throw new Error(`resume: checkpoint ${dir} has no trainer state (meta.training.${k} missing); it was not written by a bijective trainer`);
    }
  }
  return s as TrainerState;
}
