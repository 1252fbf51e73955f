import type { Flow } from '../flow/flow.js';

/** Named float32 tensors stored beside a checkpoint (the optimizer's moments). */
export type TensorMap = Record<string, { data: Float32Array; shape: number[] }>;

/**
 * Where the trainer's checkpoints go. A checkpoint is core's checkpoint folder (`flow.json`
 * with the trainer's state in its meta, `weights.safetensors`) plus the optimizer state
 * beside it. The Node entry point (`@bijective/backend-tfjs/node`) installs a file-system
 * implementation; elsewhere pass one in `train`'s options.
 */
export interface CheckpointIO {
  save(dir: string, flow: Flow, meta: Record<string, unknown>, optimizer: TensorMap): Promise<void>;
  load(dir: string): Promise<{ flow: Flow; meta: Record<string, unknown>; optimizer: TensorMap }>;
}

let installed: CheckpointIO | undefined;

/** Sets the checkpoint IO `train` uses when its options name none. */
export function setDefaultCheckpointIO(io: CheckpointIO): void {
  installed = io;
}

export function defaultCheckpointIO(): CheckpointIO | undefined {
  return installed;
}
