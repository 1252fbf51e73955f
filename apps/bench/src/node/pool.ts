import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerReply, WorkerRequest } from './worker.js';

/** How to start `worker.ts`/`worker.js` beside this file: TypeScript sources need tsx and the source condition. */
export function workerEntry(): { file: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url));
  return { file, execArgv: fromSource ? ['--conditions=@bijective/source', '--import', 'tsx'] : [] };
}

export class WorkerError extends Error {
  override name = 'WorkerError';
}

/**
 * Runs one request in a fresh worker process, handing every reply to `onReply` in order.
 * Resolves with the worker's peak RSS once it says goodbye; rejects (with the tail of its
 * stderr) when it dies without doing so, or kills it when `signal` aborts (its reason is the error).
 */
export function runWorker(request: WorkerRequest, onReply: (r: WorkerReply) => void | Promise<void>, signal: AbortSignal): Promise<{ maxRssBytes?: number }> {
  const { file, execArgv } = workerEntry();
  const child = fork(file, [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  child.stdout?.resume();
  return new Promise((resolve, reject) => {
    let maxRssBytes: number | undefined;
    let settled = false;
    let chain = Promise.resolve();
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      // Replies already received are handled before the outcome is known.
      chain.then(() => (err ? reject(err) : resolve({ ...(maxRssBytes !== undefined ? { maxRssBytes } : {}) })), reject);
    };
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(new WorkerError(signal.reason instanceof Error ? signal.reason.message : String(signal.reason)));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    child.on('message', (r: WorkerReply) => {
      if (r.type === 'exit') maxRssBytes = r.maxRssBytes;
      chain = chain.then(async () => {
        await onReply(r);
        // Host events wait for this: the worker goes on only once its event is handled.
        if (r.type !== 'exit' && r.type !== 'list' && r.type !== 'gemm' && child.connected) child.send({ type: 'ack' });
      });
    });
    child.on('error', (e) => finish(new WorkerError(`worker could not run: ${e.message}`)));
    child.on('exit', (code, signal) => {
      if (maxRssBytes !== undefined) finish();
      else {
        const tail = stderr.trim().split('\n').slice(-8).join('\n');
        finish(new WorkerError(`worker exited (${signal ?? `code ${code}`}) before finishing${tail ? `:\n${tail}` : ''}`));
      }
    });
    child.send(request);
  });
}
