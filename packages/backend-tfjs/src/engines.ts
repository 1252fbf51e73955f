import type { EngineStatus as CoreEngineStatus } from '@bijective/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerGradients } from './gradients.js';

/**
 * The TensorFlow.js engines, by the names users see. Each one is a tfjs backend:
 *
 * | engine          | tfjs backend | where                                            |
 * |-----------------|--------------|--------------------------------------------------|
 * | `tfjs-cpu`      | cpu          | everywhere (plain JavaScript)                     |
 * | `tfjs-wasm`     | wasm         | everywhere (WebAssembly, SIMD when supported)     |
 * | `tfjs-node`     | tensorflow   | Node, with `@tensorflow/tfjs-node` installed      |
 * | `tfjs-node-gpu` | tensorflow   | Node, with `@tensorflow/tfjs-node-gpu` installed  |
 * | `tfjs-webgl`    | webgl        | browsers with WebGL 2                            |
 * | `tfjs-webgpu`   | webgpu       | browsers with WebGPU                             |
 *
 * Browser-safe: the Node-only engines are defined in `@bijective/backend-tfjs/node`,
 * which registers them here with {@link registerEngine}.
 */
export type EngineName = 'tfjs-cpu' | 'tfjs-wasm' | 'tfjs-node' | 'tfjs-node-gpu' | 'tfjs-webgl' | 'tfjs-webgpu';

export const ENGINE_NAMES: readonly EngineName[] = ['tfjs-cpu', 'tfjs-wasm', 'tfjs-node', 'tfjs-node-gpu', 'tfjs-webgl', 'tfjs-webgpu'];

/** One line of {@link listEngines}: core's engine status, plus the tfjs backend it runs on. */
export interface EngineStatus extends CoreEngineStatus {
  readonly engine: EngineName;
  readonly family: 'tfjs';
  /** The tfjs backend it runs on. */
  readonly backend: string;
}

/** How an engine is found and started. */
export interface EngineDef {
  readonly name: EngineName;
  readonly backend: string;
  readonly install?: string;
  /** A reason the engine cannot run here, found without starting it; null when it may. */
  precheck(): Promise<string | null>;
  /** Imports and registers the tfjs backend (and kernels this package adds to it). */
  load(): Promise<void>;
  /** After the backend started: a one-line description of what runs. */
  describe?(): Promise<string | undefined>;
}

export class EngineError extends Error {
  override name = 'EngineError';
}

const isBrowser = () => tf.env().getBool('IS_BROWSER');
const isNode = () => tf.env().getBool('IS_NODE');

function message(e: unknown): string {
  return e instanceof Error ? e.message : typeof e === 'object' && e !== null && 'message' in e ? String((e as { message: unknown }).message) : String(e);
}

const cpu: EngineDef = {
  name: 'tfjs-cpu',
  backend: 'cpu',
  precheck: async () => null,
  load: async () => {
    // The cpu backend tells Node users, once, to install tfjs-node; listEngines says that.
    const backend = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
    if (backend) backend.firstUse = false;
  },
  describe: async () => 'plain JavaScript kernels',
};

/** Options of the wasm engine (set by the Node entry point: where the .wasm files are). */
export interface WasmEngineOptions {
  /** Folder (or URL prefix) holding `tfjs-backend-wasm*.wasm`, with a trailing slash. */
  wasmPaths?: string;
  /** Replaces tfjs' own wasm backend factory (the Node entry point's multi-threaded loader). */
  backendFactory?: () => Promise<tf.KernelBackend>;
}

/** tfjs-backend-wasm's registration priority. */
const WASM_PRIORITY = 2;

export function wasmEngine(options: WasmEngineOptions = {}): EngineDef {
  return {
    name: 'tfjs-wasm',
    backend: 'wasm',
    precheck: async () => (typeof WebAssembly === 'object' ? null : 'this JavaScript runtime has no WebAssembly'),
    load: async () => {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const started = tf.findBackend('wasm') !== null;
      if (options.wasmPaths !== undefined && !started) wasm.setWasmPaths(options.wasmPaths);
      if (options.backendFactory && !started) {
        tf.removeBackend('wasm');
        tf.registerBackend('wasm', options.backendFactory, WASM_PRIORITY);
      }
      const { registerWasmKernels } = await import('./kernels/wasm.js');
      registerWasmKernels();
    },
    describe: async () => {
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount();
      return `${simd ? 'SIMD' : 'no SIMD'}, ${threads} thread${threads === 1 ? '' : 's'}`;
    },
  };
}

const webgl: EngineDef = {
  name: 'tfjs-webgl',
  backend: 'webgl',
  precheck: async () => {
    if (!isBrowser()) return 'WebGL needs a browser (no WebGL context in Node)';
    if (typeof document === 'undefined' && typeof OffscreenCanvas === 'undefined') return 'no canvas to create a WebGL context on';
    return null;
  },
  load: async () => {
    await import('@tensorflow/tfjs-backend-webgl');
  },
};

const webgpu: EngineDef = {
  name: 'tfjs-webgpu',
  backend: 'webgpu',
  precheck: async () => {
    if (!isBrowser()) return 'WebGPU needs a browser';
    const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
    if (!gpu) return 'this browser exposes no WebGPU (navigator.gpu is undefined)';
    if (!(await gpu.requestAdapter())) return 'navigator.gpu.requestAdapter() found no WebGPU adapter';
    return null;
  },
  load: async () => {
    await import('@tensorflow/tfjs-backend-webgpu');
  },
};

/** The Node-only engines as seen from the browser-safe entry point. */
function nodeOnly(name: 'tfjs-node' | 'tfjs-node-gpu', pkg: string): EngineDef {
  return {
    name,
    backend: 'tensorflow',
    install: `npm install ${pkg}`,
    precheck: async () =>
      isNode()
        ? `needs the Node entry point: import from '@bijective/backend-tfjs/node' (with ${pkg} installed)`
        : `needs Node.js (${pkg} binds the native TensorFlow library); not available in a browser`,
    load: async () => {
      throw new EngineError(`${name}: not available from this entry point`);
    },
  };
}

const registry = new Map<EngineName, EngineDef>(
  [cpu, wasmEngine(), nodeOnly('tfjs-node', '@tensorflow/tfjs-node'), nodeOnly('tfjs-node-gpu', '@tensorflow/tfjs-node-gpu'), webgl, webgpu].map((d) => [d.name, d]),
);

/** Replaces an engine's definition (the Node entry point registers tfjs-node, tfjs-node-gpu and wasm file paths). */
export function registerEngine(def: EngineDef): void {
  registry.set(def.name, def);
  statusCache.delete(def.name);
}

const statusCache = new Map<EngineName, Promise<EngineStatus>>();

/** Starts `def`'s backend if it can, leaving the previously active backend active. */
async function probe(def: EngineDef): Promise<EngineStatus> {
  // Every tfjs engine trains: the provider's openGradients (tfjs autodiff over the lowering) drives core's trainer.
  const base = { engine: def.name, family: 'tfjs' as const, backend: def.backend, trains: true, ...(def.install ? { install: def.install } : {}) };
  try {
    const why = await def.precheck();
    if (why) return { ...base, available: false, reason: why };
    await def.load();
    const previous = tfBackendName();
    const ok = await tf.setBackend(def.backend);
    if (!ok) {
      const hint = def.backend === 'wasm' ? " (are the tfjs-backend-wasm .wasm files served? point wasmEngine({ wasmPaths }) at them)" : '';
      return { ...base, available: false, reason: `the tfjs '${def.backend}' backend failed to start${hint}` };
    }
    const detail = await def.describe?.();
    if (previous && previous !== def.backend) await tf.setBackend(previous);
    return { ...base, available: true, ...(detail ? { detail } : {}) };
  } catch (e) {
    return { ...base, available: false, reason: message(e) };
  }
}

function tfBackendName(): string | null {
  // tf.getBackend() would start the best backend when none is active yet.
  return (tf.engine() as unknown as { backendName: string | null }).backendName ?? null;
}

function status(def: EngineDef): Promise<EngineStatus> {
  let s = statusCache.get(def.name);
  if (!s) {
    s = probe(def);
    statusCache.set(def.name, s);
  }
  return s;
}

/** One tfjs engine's status (probed once, then cached). */
export function engineStatus(name: EngineName): Promise<EngineStatus> {
  return status(registry.get(name)!);
}

/** Every tfjs engine, whether it can run here and, for each one that cannot, why. */
export async function listEngines(): Promise<EngineStatus[]> {
  const out: EngineStatus[] = [];
  // One at a time: each probe switches the global tfjs backend briefly.
  for (const name of ENGINE_NAMES) out.push(await status(registry.get(name)!));
  return out;
}

/** A started engine. */
export interface Engine {
  readonly name: EngineName;
  readonly backend: string;
  /** Makes this engine's backend the active tfjs backend (tfjs has one global active backend). */
  activate(): Promise<void>;
}

export function isEngineName(name: string): name is EngineName {
  return (ENGINE_NAMES as readonly string[]).includes(name);
}

/**
 * Starts the named engine. An unknown or unavailable engine is an error that says why
 * and lists the engines available here.
 */
export async function useEngine(name: string = 'tfjs-cpu'): Promise<Engine> {
  registerGradients();
  if (!isEngineName(name)) {
    const avail = (await listEngines()).filter((e) => e.available).map((e) => e.engine);
    throw new EngineError(`unknown engine '${name}'; tfjs engines are ${ENGINE_NAMES.join(', ')} (available here: ${avail.join(', ')})`);
  }
  const def = registry.get(name)!;
  const s = await status(def);
  if (!s.available) {
    const avail = (await listEngines()).filter((e) => e.available).map((e) => e.engine);
    const install = s.install ? ` (install: ${s.install})` : '';
    throw new EngineError(`engine '${name}' is not available: ${s.reason}${install}. Available here: ${avail.join(', ') || 'none'}`);
  }
  const engine: Engine = {
    name,
    backend: def.backend,
    activate: async () => {
      if (tfBackendName() !== def.backend && !(await tf.setBackend(def.backend))) {
        throw new EngineError(`engine '${name}': the tfjs '${def.backend}' backend failed to start`);
      }
    },
  };
  await engine.activate();
  return engine;
}
