import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { flowFromParams, type Flow, type FlowSpec } from '../flow/flow.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors } from '../io/safetensors.js';
import { VERSION } from '../version.js';
import { writeFileAtomic } from './atomic.js';

export const CHECKPOINT_FORMAT = 'bijective.checkpoint';
export const CHECKPOINT_FORMAT_VERSION = 1;
export const FLOW_FILE = 'flow.json';
export const WEIGHTS_FILE = 'weights.safetensors';

/** What `flow.json` holds besides the spec: training metadata, metrics, the command that made it. */
export type CheckpointMeta = Record<string, unknown>;

interface FlowFile {
  format: string;
  formatVersion: number;
  library: { name: string; version: string };
  spec: FlowSpec;
  meta: CheckpointMeta;
  weights: { file: string; sha256: string; bytes: number };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Saves `flow` to the folder `dir`: `weights.safetensors` (every parameter, float32) and
 * `flow.json` (spec, meta, and the weights' SHA-256). Each file is written atomically,
 * weights first; a `flow.json` never names weights that are not on disk.
 */
export async function saveCheckpoint(dir: string, flow: Flow, meta: CheckpointMeta = {}): Promise<void> {
  const weights = encodeSafetensors(flow.params, { format: CHECKPOINT_FORMAT });
  const file: FlowFile = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    library: { name: '@bijective/core', version: VERSION },
    spec: flow.spec,
    meta,
    weights: { file: WEIGHTS_FILE, sha256: sha256(weights), bytes: weights.length },
  };
  await writeFileAtomic(join(dir, WEIGHTS_FILE), weights);
  await writeFileAtomic(join(dir, FLOW_FILE), `${JSON.stringify(file, null, 2)}\n`);
}

async function readOrFail(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? `${what} not found: ${path}` : `cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Loads a checkpoint folder; a missing, truncated or mismatched file is refused with a clear error. */
export async function loadCheckpoint(dir: string): Promise<{ flow: Flow; meta: CheckpointMeta }> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new CheckpointError(`no checkpoint at ${dir}: expected a folder with ${FLOW_FILE} and ${WEIGHTS_FILE}`);
  const raw = await readOrFail(join(dir, FLOW_FILE), 'checkpoint spec');
  let file: FlowFile;
  try {
    file = JSON.parse(raw.toString('utf8')) as FlowFile;
  } catch (e) {
    throw new CheckpointError(`${join(dir, FLOW_FILE)} is not valid JSON (${(e as Error).message})`);
  }
  if (file?.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${join(dir, FLOW_FILE)} is not a Bijective checkpoint (format ${JSON.stringify(file?.format)})`);
  if (file.formatVersion > CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(`${join(dir, FLOW_FILE)} has format version ${file.formatVersion}; this library (${VERSION}) reads up to ${CHECKPOINT_FORMAT_VERSION}`);
  }
  const weightsPath = join(dir, file.weights?.file ?? WEIGHTS_FILE);
  const bytes = await readOrFail(weightsPath, 'checkpoint weights');
  if (file.weights && (bytes.length !== file.weights.bytes || sha256(bytes) !== file.weights.sha256)) {
    throw new CheckpointError(
      `${weightsPath} does not match ${FLOW_FILE} (${bytes.length} bytes, flow.json expects ${file.weights.bytes} with SHA-256 ${file.weights.sha256.slice(0, 12)}…): truncated, or from another save`,
    );
  }
  const { tensors } = decodeSafetensors(bytes, weightsPath);
  let flow: Flow;
  try {
    flow = flowFromParams(file.spec as unknown as Record<string, unknown>, tensors);
  } catch (e) {
    throw new CheckpointError(`checkpoint ${dir} is inconsistent: ${(e as Error).message}`);
  }
  return { flow, meta: file.meta ?? {} };
}
