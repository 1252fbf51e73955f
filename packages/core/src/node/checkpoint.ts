import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { flowFromParams, type Flow, type FlowSpec } from '../flow/flow.js';
import { CheckpointError, decodeSafetensors, encodeSafetensors } from '../io/safetensors.js';
import { VERSION } from '../version.js';
import { faultPoint, isTempOf, writeFileAtomic } from './atomic.js';

export const CHECKPOINT_FORMAT = 'bijective.checkpoint';
export const CHECKPOINT_FORMAT_VERSION = 1;
export const FLOW_FILE = 'flow.json';
/** The weights' file name in checkpoints of earlier versions (and the stem of today's versioned names). */
export const WEIGHTS_FILE = 'weights.safetensors';

/** What `flow.json` holds besides the spec: training metadata, metrics, the command that made it. */
export type CheckpointMeta = Record<string, unknown>;

interface FileRef {
  file: string;
  sha256: string;
  bytes: number;
}

interface FlowFile {
  format: string;
  formatVersion: number;
  library: { name: string; version: string };
  spec: FlowSpec;
  meta: CheckpointMeta;
  weights: FileRef;
  /** Companion files (e.g. the optimizer state), by their logical name. */
  files?: Record<string, FileRef>;
}

export const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** `weights.safetensors` + content → `weights.<first 16 hex of its SHA-256>.safetensors`. */
function versionedName(logical: string, sha: string): string {
  const dot = logical.lastIndexOf('.');
  return dot > 0 ? `${logical.slice(0, dot)}.${sha.slice(0, 16)}${logical.slice(dot)}` : `${logical}.${sha.slice(0, 16)}`;
}

/** True for `name` when it is `logical` itself or one of its versioned names. */
function isVersionOf(name: string, logical: string): boolean {
  if (name === logical) return true;
  const dot = logical.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [logical.slice(0, dot), logical.slice(dot)] : [logical, ''];
  return new RegExp(`^${escape(stem)}\\.[0-9a-f]{16}${escape(ext)}$`).test(name);
}
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A logical companion-file name: a plain file name (no folder, not hidden, not flow.json). */
function checkLogicalName(name: string): void {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(name) || name === FLOW_FILE || name === WEIGHTS_FILE) {
    throw new TypeError(`saveCheckpoint: companion file name '${name}' must be a plain file name other than ${FLOW_FILE} and ${WEIGHTS_FILE}`);
  }
}

export interface SaveCheckpointOptions {
  /**
   * Companion files saved in the same atomic unit (e.g. `optimizer.safetensors`), computed from
   * the SHA-256 of the weights they belong to so they can record it.
   */
  files?: (weightsSha256: string) => Record<string, Uint8Array>;
}

/**
 * Saves `flow` to the folder `dir` as one atomic unit. The weights (and any companion files)
 * go to new, content-named files beside the old ones (`weights.<sha>.safetensors`), each written
 * atomically; then `flow.json`, naming them with their SHA-256, replaces the old one in a single
 * rename, which is the commit point. Only then are the files the old `flow.json` named, and the
 * temp files of an earlier crashed save, removed. So at every instant the folder holds a complete
 * checkpoint: the previous one until the rename, the new one after it.
 */
export async function saveCheckpoint(dir: string, flow: Flow, meta: CheckpointMeta = {}, options: SaveCheckpointOptions = {}): Promise<void> {
  const weights = encodeSafetensors(flow.params, { format: CHECKPOINT_FORMAT });
  const weightsSha = sha256Hex(weights);
  const writes: [string, Uint8Array][] = [];
  const weightsRef: FileRef = { file: versionedName(WEIGHTS_FILE, weightsSha), sha256: weightsSha, bytes: weights.length };
  writes.push([weightsRef.file, weights]);
  const files: Record<string, FileRef> = {};
  for (const [name, bytes] of Object.entries(options.files?.(weightsSha) ?? {})) {
    checkLogicalName(name);
    const sha = sha256Hex(bytes);
    files[name] = { file: versionedName(name, sha), sha256: sha, bytes: bytes.length };
    writes.push([files[name].file, bytes]);
  }
  const file: FlowFile = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    library: { name: '@bijective/core', version: VERSION },
    spec: flow.spec,
    meta,
    weights: weightsRef,
    ...(Object.keys(files).length ? { files } : {}),
  };
  for (const [name, bytes] of writes) await writeFileAtomic(join(dir, name), bytes);
  await writeFileAtomic(join(dir, FLOW_FILE), `${JSON.stringify(file, null, 2)}\n`);
  await removeOrphans(dir, file);
}

/**
 * Removes what no longer belongs to the checkpoint `current` names: older versions of its files
 * and temp files left by a crashed save. Only names this module makes are touched.
 */
async function removeOrphans(dir: string, current: FlowFile): Promise<void> {
  const keep = new Set([FLOW_FILE, current.weights.file, ...Object.values(current.files ?? {}).map((f) => f.file)]);
  const logical = [WEIGHTS_FILE, ...Object.keys(current.files ?? {})];
  for (const name of await readdir(dir)) {
    if (keep.has(name)) continue;
    const stale = logical.some((l) => isVersionOf(name, l)) || [FLOW_FILE, ...logical].some((l) => isTempOf(name, l)) || isVersionedTemp(name, logical);
    if (stale) {
      await rm(join(dir, name), { force: true });
      faultPoint();
    }
  }
}

/** A temp file of a versioned name (`.weights.<sha>.safetensors.<pid>.<rand>.tmp`). */
function isVersionedTemp(name: string, logical: readonly string[]): boolean {
  const m = /^\.(.+)\.\d+\.[0-9a-f]{8}\.tmp$/.exec(name);
  return m !== null && logical.some((l) => isVersionOf(m[1]!, l));
}

async function readOrFail(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? `${what} not found: ${path}` : `cannot read ${path}: ${(e as Error).message}`);
  }
}

/** A `flow.json` file reference: a plain file name inside the folder, with its size and SHA-256. */
function checkRef(ref: unknown, where: string): FileRef {
  const r = ref as Partial<FileRef> | undefined;
  if (typeof r !== 'object' || r === null) throw new CheckpointError(`${where} is missing: expected { file, sha256, bytes } naming the file and its SHA-256`);
  if (typeof r.file !== 'string' || r.file === '' || r.file !== basename(r.file) || r.file.includes('\\') || r.file.startsWith('.')) {
    throw new CheckpointError(`${where}.file must name a file inside the checkpoint folder, got ${JSON.stringify(r.file)}`);
  }
  if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) throw new CheckpointError(`${where}.sha256 is missing or not a SHA-256 hex digest (got ${JSON.stringify(r.sha256)}): the weights cannot be verified`);
  if (!Number.isInteger(r.bytes) || r.bytes! < 0) throw new CheckpointError(`${where}.bytes must be a non-negative integer, got ${JSON.stringify(r.bytes)}`);
  return r as FileRef;
}

async function readVerified(dir: string, ref: FileRef, what: string): Promise<Buffer> {
  const path = join(dir, ref.file);
  const bytes = await readOrFail(path, what);
  if (bytes.length !== ref.bytes || sha256Hex(bytes) !== ref.sha256) {
    throw new CheckpointError(
      `${path} does not match ${FLOW_FILE} (${bytes.length} bytes, flow.json expects ${ref.bytes} with SHA-256 ${ref.sha256.slice(0, 12)}…): truncated, or from another save`,
    );
  }
  return bytes;
}

export interface LoadedCheckpoint {
  flow: Flow;
  meta: CheckpointMeta;
  /** The companion files saved with it, by logical name, verified against their SHA-256. */
  files: Record<string, Uint8Array>;
  /** The SHA-256 of the weights file. */
  weightsSha256: string;
}

/** Loads a checkpoint folder; a missing, truncated or mismatched file is refused with a clear error. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new CheckpointError(`no checkpoint at ${dir}: expected a folder with ${FLOW_FILE} and ${WEIGHTS_FILE}`);
  // A save running beside us may switch flow.json and remove the files the old one named
  // between our two reads: then flow.json has changed, and reading it again finds the new unit.
  for (let attempt = 0; ; attempt++) {
    const raw = await readOrFail(join(dir, FLOW_FILE), 'checkpoint spec');
    try {
      return await loadUnit(dir, raw);
    } catch (e) {
      const now = await readFile(join(dir, FLOW_FILE)).catch(() => undefined);
      if (attempt >= 3 || !now || now.equals(raw)) throw e;
    }
  }
}

async function loadUnit(dir: string, raw: Buffer): Promise<LoadedCheckpoint> {
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
  const weightsRef = checkRef(file.weights, `${join(dir, FLOW_FILE)}: weights`);
  const bytes = await readVerified(dir, weightsRef, 'checkpoint weights');
  const files: Record<string, Uint8Array> = {};
  for (const [name, ref] of Object.entries(file.files ?? {})) {
    const r = checkRef(ref, `${join(dir, FLOW_FILE)}: files.${name}`);
    const b = await readVerified(dir, r, `checkpoint file ${name}`);
    files[name] = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  const weightsPath = join(dir, weightsRef.file);
  const { tensors } = decodeSafetensors(bytes, weightsPath);
  let flow: Flow;
  try {
    flow = flowFromParams(file.spec as unknown as Record<string, unknown>, tensors);
  } catch (e) {
    throw new CheckpointError(`checkpoint ${dir} is inconsistent: ${(e as Error).message}`);
  }
  return { flow, meta: file.meta ?? {}, files, weightsSha256: weightsRef.sha256 };
}
