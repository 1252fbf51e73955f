import type { GradientEngine } from '@bijective/core';
import type { InferenceSession } from 'onnxruntime-web';
import { EXECUTION_PROVIDER, engineProbes, ortAvailable, ortUnavailable, type EngineStatus, type OrtEngine } from './engines.js';
import type { ExportOptions } from './export.js';
import { ortGradientEngine } from './gradients.js';
import { probeModel } from './probe.js';
import { registerOrtProvider } from './provider.js';
import { createOrtRuntime, loadModels, type ModelSource, type OrtFlowRuntime, type OrtModule } from './runtime.js';

export * from './index.js';

/**
 * Browser (and any JS runtime without Node's native addons) runners over onnxruntime-web:
 * `ort-web-wasm` (WebAssembly, multi-threaded where the page is cross-origin isolated) and
 * `ort-web-webgpu` (WebGPU, where `navigator.gpu` gives an adapter). This entry never
 * imports onnxruntime-node.
 */
type OrtWeb = OrtModule & { env: { wasm: { numThreads?: number; wasmPaths?: string | Record<string, string> } } };

interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<unknown> };
  hardwareConcurrency?: number;
}

let ortWeb: Promise<OrtWeb> | undefined;

export interface WebSetup {
  /** Where onnxruntime-web's `.wasm`/`.mjs` files are served from (its `env.wasm.wasmPaths`), when not next to the bundle. */
  wasmPaths?: string;
  /** WebAssembly threads (default: `navigator.hardwareConcurrency` when cross-origin isolated, else 1). */
  numThreads?: number;
}

let setup: WebSetup = {};

/** Settings applied when onnxruntime-web is first loaded (call before the first runtime). */
export function configureWeb(options: WebSetup): void {
  setup = { ...setup, ...options };
}

function loadOrtWeb(): Promise<OrtWeb> {
  ortWeb ??= (import('onnxruntime-web') as unknown as Promise<OrtWeb>).then((m) => {
    const nav = (globalThis as { navigator?: GpuNavigator }).navigator;
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    m.env.wasm.numThreads = setup.numThreads ?? (isolated ? (nav?.hardwareConcurrency ?? 1) : 1);
    if (setup.wasmPaths !== undefined) m.env.wasm.wasmPaths = setup.wasmPaths;
    return m;
  });
  return ortWeb;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!.trim();
}

async function webEngineStatus(engine: OrtEngine): Promise<EngineStatus> {
  const no = (reason: string, install?: string): EngineStatus => ortUnavailable(engine, reason, install);
  if (engine.startsWith('ort-node-')) return no(`'${engine}' runs on onnxruntime-node (native, Node only): import from @bijective/backend-onnx/node`);
  if (typeof WebAssembly !== 'object') return no('this JavaScript runtime has no WebAssembly');
  if (engine === 'ort-web-webgpu') {
    const gpu = (globalThis as { navigator?: GpuNavigator }).navigator?.gpu;
    if (!gpu) return no('this browser exposes no WebGPU (navigator.gpu is missing; WebGPU needs a secure context and a supporting browser)');
    let adapter: unknown;
    try {
      adapter = await gpu.requestAdapter();
    } catch (e) {
      return no(`navigator.gpu.requestAdapter() failed: ${firstLine(e)}`);
    }
    if (!adapter) return no('navigator.gpu.requestAdapter() found no WebGPU adapter');
  }
  let ort: OrtWeb;
  try {
    ort = await loadOrtWeb();
  } catch (e) {
    return no(`onnxruntime-web could not be loaded (${firstLine(e)}); it is an optional peer dependency of @bijective/backend-onnx: install it with \`npm install onnxruntime-web@^1.30.0\``, 'npm install onnxruntime-web@^1.30.0');
  }
  try {
    const s = await ort.InferenceSession.create(probeModel(), { executionProviders: [EXECUTION_PROVIDER[engine]] });
    await s.release();
  } catch (e) {
    return no(`onnxruntime-web's ${EXECUTION_PROVIDER[engine]} backend failed to start: ${firstLine(e)}`);
  }
  return ortAvailable(engine, engine === 'ort-web-wasm' ? `onnxruntime-web WebAssembly, ${ort.env.wasm.numThreads ?? 1} threads` : 'onnxruntime-web WebGPU');
}

/** Engine status (probed once, one probe at a time) and the list of every engine with its reason. */
const probes = engineProbes(webEngineStatus);
export const { engineStatus, listEngines, requireEngine } = probes;

export interface WebRuntimeOptions {
  /** Default `'ort-web-wasm'`. */
  engine?: OrtEngine;
  /** Merged over the defaults (graph optimisation `'all'`). */
  sessionOptions?: InferenceSession.SessionOptions;
  exportOptions?: ExportOptions;
}

/**
 * A FlowRuntime on onnxruntime-web. `model` is a Flow, the `{ logProb, sample }` bytes of
 * `exportOnnx`, or the bytes of one exported file (fetch them first).
 */
export async function ortRuntime(model: ModelSource, options: WebRuntimeOptions = {}): Promise<OrtFlowRuntime> {
  const engine = await requireEngine(options.engine ?? 'ort-web-wasm');
  const models = loadModels(model, options.exportOptions);
  const ort = await loadOrtWeb();
  const sessionOptions: InferenceSession.SessionOptions = {
    executionProviders: [EXECUTION_PROVIDER[engine]],
    graphOptimizationLevel: 'all',
    ...options.sessionOptions,
  };
  return createOrtRuntime(ort, engine, models, sessionOptions);
}

/** A {@link GradientEngine} on onnxruntime-web (default `'ort-web-wasm'`): core's gradient graph with the parameters as inputs. */
export async function ortGradients(options: { engine?: OrtEngine; sessionOptions?: InferenceSession.SessionOptions } = {}): Promise<GradientEngine> {
  const engine = await requireEngine(options.engine ?? 'ort-web-wasm');
  const ort = await loadOrtWeb();
  return ortGradientEngine(ort, engine, { executionProviders: [EXECUTION_PROVIDER[engine]], graphOptimizationLevel: 'all', ...options.sessionOptions });
}

/** The `ort` engines in core's registry (`openRuntime(flow, 'ort-…')`, `listEngines()`). */
export const ortEngineProvider = registerOrtProvider(
  probes,
  (flow, engine) => ortRuntime(flow, { engine }),
  (engine) => ortGradients({ engine }),
);
