import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, CheckpointError } from '../io/safetensors.js';
import { loadCheckpoint, saveCheckpoint } from '../node/checkpoint.js';
import { setDefaultCheckpointIO, type CheckpointIO, type TensorMap } from './checkpoint-io.js';

/**
 * Node only (exported by `@bijective/core/node`, which installs it as the trainer's default
 * checkpoint IO when imported).
 */

/** The optimizer state's logical name in a checkpoint (a companion file of core's checkpoint unit). */
export const OPTIMIZER_FILE = 'optimizer.safetensors';

/**
 * Checkpoints on the file system: core's `saveCheckpoint` unit, with the optimizer state as a
 * companion file saved in the same atomic switch. The optimizer file records the step and the
 * SHA-256 of the weights it belongs to, checked on load.
 */
export const fsCheckpointIO: CheckpointIO = {
  async save(dir, flow, meta, optimizer) {
    const step = String((meta.training as { step?: number } | undefined)?.step ?? '');
    await saveCheckpoint(dir, flow, meta, { files: (weights) => ({ [OPTIMIZER_FILE]: encodeSafetensors(optimizer, { step, weights }) }) });
  },
  async load(dir) {
    const { flow, meta, files, weightsSha256 } = await loadCheckpoint(dir);
    let optimizer: TensorMap = {};
    const path = join(dir, OPTIMIZER_FILE);
    let bytes: Uint8Array | undefined = files[OPTIMIZER_FILE];
    const unit = bytes !== undefined;
    // Checkpoints from before the atomic unit kept it beside, unversioned.
    if (!bytes) {
      const old = await readFile(path).catch(() => undefined);
      if (old) bytes = new Uint8Array(old.buffer, old.byteOffset, old.byteLength);
    }
    if (bytes) {
      const decoded = decodeSafetensors(bytes, path);
      const step = String((meta.training as { step?: number } | undefined)?.step ?? '');
      if (decoded.metadata.step !== step) {
        throw new CheckpointError(`${path} is from step ${decoded.metadata.step}, flow.json from step ${step}: the checkpoint was not saved completely`);
      }
      if ((unit || decoded.metadata.weights !== undefined) && decoded.metadata.weights !== weightsSha256) {
        throw new CheckpointError(`${path} belongs to weights with SHA-256 ${String(decoded.metadata.weights).slice(0, 12)}…, not to this checkpoint's (${weightsSha256.slice(0, 12)}…)`);
      }
      optimizer = decoded.tensors;
    }
    return { flow, meta, optimizer };
  },
};

setDefaultCheckpointIO(fsCheckpointIO);
