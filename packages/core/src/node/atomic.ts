import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Fault injection for crash tests: with `BIJECTIVE_FAULT_KILL_AFTER=N` in the environment the
 * process SIGKILLs itself right after its N-th file-system mutation made here (a write, a
 * rename, a removal), so a test can crash a save at every point between two of them.
 */
let faultCountdown = Number(process.env.BIJECTIVE_FAULT_KILL_AFTER ?? 0) || 0;
export function faultPoint(): void {
  if (faultCountdown > 0 && --faultCountdown === 0) process.kill(process.pid, 'SIGKILL');
}

/**
 * Writes `data` to `path` atomically: a temp file beside it (flushed to disk), then a rename,
 * so a crash or a full disk never leaves a half-written file where a good one was.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathBeside(path);
  try {
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    faultPoint();
    await rename(tmp, path);
    faultPoint();
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** {@link writeFileAtomic}, synchronously. */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathBeside(path);
  try {
    writeFileSync(tmp, data, { flag: 'wx' });
    faultPoint();
    renameSync(tmp, path);
    faultPoint();
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** The suffix of every temp file {@link writeFileAtomic} makes (orphans of a crash end with it). */
export const TEMP_SUFFIX = '.tmp';

/** A hidden temp name in the same folder (same filesystem, so the rename is atomic). */
function tempPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
}

/** True for a temp file that {@link writeFileAtomic} names for `base` (any process). */
export function isTempOf(name: string, base: string): boolean {
  return name.startsWith(`.${base}.`) && name.endsWith(TEMP_SUFFIX);
}
