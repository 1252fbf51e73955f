import { constants } from 'node:fs';
import { lstat, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CliError } from './common.js';
import { writeError } from './output.js';

/** Append, create, and never through a symbolic link (O_NOFOLLOW: a link fails with ELOOP). */
const APPEND_NO_FOLLOW = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/**
 * `metrics.jsonl`: one JSON object per line, appended as the run goes. Each line is one
 * write(2) on a descriptor opened with O_APPEND, so a line is written whole or not at all and
 * concurrent readers never see half a record; writes are chained, so lines keep their order.
 * A resumed run appends to the same file. The file is opened with O_NOFOLLOW: a
 * `metrics.jsonl` that is a symbolic link (to a file outside the run folder) is refused,
 * never appended through.
 */
export class MetricsLog {
  private chain: Promise<void> = Promise.resolve();
  private ready: Promise<unknown>;

  constructor(readonly path: string) {
    this.ready = mkdir(dirname(path), { recursive: true });
    this.ready.catch(() => undefined); // reported by flush()
  }

  /** Refuses a `metrics.jsonl` that is not a plain file (a symbolic link, a folder) before the run starts. */
  static async check(path: string, command: string): Promise<void> {
    const st = await lstat(path).catch(() => undefined);
    if (st?.isSymbolicLink()) throw new CliError(`${command}: ${path} is a symbolic link; the run folder's files are written only in place, never through a link (remove it)`);
    if (st && !st.isFile()) throw new CliError(`${command}: ${path} is not a plain file (remove it)`);
  }

  append(record: Record<string, unknown>): void {
    const line = `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`;
    this.chain = this.chain.then(async () => {
      await this.ready;
      let handle;
      try {
        handle = await open(this.path, APPEND_NO_FOLLOW, 0o644);
        await handle.write(line);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new CliError(`train: ${this.path} is a symbolic link; it is never written through (remove it)`);
        throw writeError(e, this.path, 'train');
      } finally {
        await handle?.close();
      }
    });
    this.chain.catch(() => undefined); // reported by flush()
  }

  /** Resolves when every line so far is on disk (rejects if one failed). */
  flush(): Promise<void> {
    return this.chain;
  }
}
