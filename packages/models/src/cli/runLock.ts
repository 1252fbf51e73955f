import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from './common.js';

/** The lock file of a run folder: it holds the pid of the one `train` or `distill` writing there. */
export const LOCK_FILE = 'train.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the run folder `dir` for this process: creates `train.lock` exclusively with our pid.
 * A lock whose holder is alive is refused, naming its pid; one whose holder is gone (a crash,
 * a SIGKILL) is stale and taken over. Resolves to the release function.
 */
export async function lockRunFolder(dir: string, command = 'train'): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return async () => {
        const holder = await readFile(path, 'utf8').catch(() => '');
        if (Number(holder.trim()) === process.pid) await rm(path, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new CliError(`${command}: ${dir} is in use by another run (pid ${holder}, ${path}); wait for it or stop it, or choose another --out`);
      }
      // Stale (holder gone, or an unreadable lock left by a crash while it was written): take it over.
      await rm(path, { force: true });
    }
  }
  throw new CliError(`${command}: could not take the lock ${path}`);
}
