/**
 * The multi-threaded wasm build in Node (Node-only; used by `@bijective/backend-tfjs/node`).
 *
 * tfjs-backend-wasm 4.22 ships a threaded SIMD build (XNNPACK on a pthreadpool) but never
 * uses it in Node: its feature check returns false for Node, and the loader it has would
 * hand Node's `worker_threads` a `blob:` URL for the pthread worker, which Node cannot load.
 * This loader starts that build the Node way: the emscripten factory from `wasm-out/`, the
 * worker script written once to a file in the OS temp folder (its source ships as a string),
 * and the main script given by path, which Node workers read from disk.
 *
 * The Node entry point runs it with 2 threads by default (see `configureWasm` in `node.ts`
 * for the measurements); an earlier measurement on a machine busy with other jobs had 2
 * threads slower than 1, so `BIJECTIVE_WASM_THREADS=1` is there to compare.
 *
 * One more quirk: the build sizes its thread pool as `min(requested, logical cores / 2)`,
 * assuming two hardware threads per core. On a machine without SMT (2 vCPUs = 2 cores)
 * that caps the pool at 1, so the logical core count is reported doubled while the module
 * initialises (the pool still never exceeds the `threads` asked for).
 */
import { createHash } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';

const require = createRequire(import.meta.url);

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  tfjs?: unknown;
  PThread: { runningWorkers: { unref(): void }[] };
}

type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

function workerScript(dir: string): string {
  const { wasmWorkerContents } = require(join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  // The string holds "\n" escapes that became real newlines in the template literal (tfjs escapes them the same way).
  const source = wasmWorkerContents.replace(/\n/g, '\\n');
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const file = join(os.tmpdir(), `bijective-tfjs-wasm-worker-${hash}.cjs`);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, source);
    renameSync(tmp, file);
  }
  return file;
}

/** A factory for the `wasm` tfjs backend running the threaded SIMD build with `threads` threads. */
export function threadedWasmBackend(threads: number): () => Promise<tf.KernelBackend> {
  return async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '..', 'wasm-out');
    const mainScript = join(dir, 'tfjs-backend-wasm-threaded-simd.js');
    const factory = require(mainScript) as Factory;
    const worker = workerScript(dir);
    const realCpus = os.cpus;
    os.cpus = () => [...realCpus(), ...realCpus()];
    let module: EmscriptenModule;
    try {
      module = await factory({ locateFile: (path: string) => (path.endsWith('.worker.js') ? worker : join(dir, path)), mainScriptUrlOrBlob: mainScript });
    } finally {
      os.cpus = realCpus;
    }
    // What tfjs' own loader attaches (backend_wasm.ts `init`).
    module.tfjs = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    };
    wasm.setThreadsCount(threads);
    const backend = new wasm.BackendWasm(module as never) as unknown as tf.KernelBackend;
    // XNNPACK's pool threads live as long as the process and emscripten keeps their workers
    // referenced, which would stop Node from ever exiting: let the event loop ignore them.
    for (const w of module.PThread.runningWorkers) w.unref();
    return backend;
  };
}
