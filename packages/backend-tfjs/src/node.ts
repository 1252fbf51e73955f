/**
 * The Node entry point, `@bijective/backend-tfjs/node`: everything of the main entry point,
 * plus what needs Node — the `tfjs-node` / `tfjs-node-gpu` engines (native TensorFlow,
 * used when the optional peer package is installed), the wasm engine pointed at the
 * `.wasm` files on disk, and checkpoints on the file system for `train`. Importing it
 * installs these (the engine registry and default checkpoint IO are shared).
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname } from 'node:path';
import { setDefaultCheckpointIO } from '@bijective/core';
import { fsCheckpointIO } from '@bijective/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { registerEngine, wasmEngine, type EngineDef } from './engines.js';
import { threadedWasmBackend } from './wasm-threads.js';

export * from './index.js';

const require = createRequire(import.meta.url);

/** Where `@tensorflow/tfjs-backend-wasm` keeps its `.wasm` files (its dist folder). */
export function wasmFilesDir(): string {
  return `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`;
}

let nativeProvider: string | undefined;

function nativeEngine(name: 'tfjs-node' | 'tfjs-node-gpu', pkg: string): EngineDef {
  return {
    name,
    backend: 'tensorflow',
    install: `npm install ${pkg}`,
    precheck: async () => {
      try {
        require.resolve(pkg);
      } catch {
        return `${pkg} is not installed (it is an optional peer dependency: it downloads the native TensorFlow library)`;
      }
      if (nativeProvider && nativeProvider !== pkg) return `the tfjs 'tensorflow' backend is already provided by ${nativeProvider}; one process can load only one of them`;
      return null;
    },
    load: async () => {
      // A variable specifier: the package is optional, so nothing may resolve it at build time.
      const specifier: string = pkg;
      await import(specifier);
      nativeProvider = pkg;
    },
    describe: async () => `native TensorFlow ${(tf.engine().backend as unknown as { binding?: { TF_Version?: string } }).binding?.TF_Version ?? ''}`.trim(),
  };
}

/**
 * Threads of the wasm engine in Node: `options.threads`, else `BIJECTIVE_WASM_THREADS`, else
 * 2 where the machine has 2 or more cores (1 otherwise). More than one runs tfjs'
 * multi-threaded SIMD build (see `wasm-threads.ts`). Measured on a quiet 2-core machine
 * (glow-fmnist-small, batch 64): 2 threads train about 15% faster than 1 (for 1.5× the CPU
 * time) and evaluate logProb about 40% faster (576 vs 415 images/s). The default stops at 2
 * because nothing more was measured; set more on a many-core machine.
 * Call before the engine starts (the first `useEngine('tfjs-wasm')`).
 */
export function configureWasm(options: { threads?: number } = {}): void {
  const fallback = Math.min(2, os.availableParallelism());
  const threads = options.threads ?? (process.env.BIJECTIVE_WASM_THREADS ? Number(process.env.BIJECTIVE_WASM_THREADS) : fallback);
  if (!(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`configureWasm: threads must be a positive integer, got ${threads}`);
  registerEngine(wasmEngine({ wasmPaths: wasmFilesDir(), ...(threads > 1 ? { backendFactory: threadedWasmBackend(threads) } : {}) }));
}

configureWasm();
registerEngine(nativeEngine('tfjs-node', '@tensorflow/tfjs-node'));
registerEngine(nativeEngine('tfjs-node-gpu', '@tensorflow/tfjs-node-gpu'));

/** Checkpoints on the file system (core's, re-exported): installed as the trainer's default. */
export { OPTIMIZER_FILE, fsCheckpointIO } from '@bijective/core/node';
setDefaultCheckpointIO(fsCheckpointIO);
