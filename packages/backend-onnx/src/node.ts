import { existsSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { Flow, GradientEngine } from '@bijective/core';
import { writeFileAtomic, writeFileAtomicSync } from '@bijective/core/node';
import type { InferenceSession } from 'onnxruntime-web';
import { EXECUTION_PROVIDER, engineProbes, ortAvailable, ortUnavailable, type EngineStatus, type OrtEngine } from './engines.js';
import { exportOnnx as exportModels, modelName, type ExportOptions, type OnnxExport } from './export.js';
import { ortGradientEngine } from './gradients.js';
import { parallelGradientEngine } from './parallel.js';
import { OnnxModelError } from './inspect.js';
import { probeModel } from './probe.js';
import { createOrtRuntime, loadModels, type ModelSource, type OrtFlowRuntime, type OrtModule } from './runtime.js';
import { registerOrtProvider } from './provider.js';
import { tritonRepository, type TritonOptions } from './triton.js';

export * from './index.js';

/** File names inside an export directory. */
export const ONNX_FILES = { logProb: 'log_prob.onnx', sample: 'sample.onnx' } as const;

export interface NodeExportOptions extends ExportOptions {
  /** Also write a Triton Inference Server model repository here (see `tritonRepository`). */
  triton?: string;
  /** Settings of the Triton configs. */
  tritonOptions?: TritonOptions;
}

/**
 * {@link exportModels | exportOnnx}, plus, with `triton: dir`, a Triton model repository
 * (`<name>_log_prob/1/model.onnx` + `config.pbtxt`, same for `<name>_sample`) written
 * atomically, file by file.
 */
export function exportOnnx(flow: Flow, options: NodeExportOptions = {}): OnnxExport {
  const models = exportModels(flow, options);
  if (options.triton !== undefined) {
    const files = tritonRepository(modelName(flow, options), models, flow.spec.event, options.tritonOptions);
    for (const [rel, data] of Object.entries(files)) writeFileAtomicSync(join(options.triton, rel), data);
  }
  return models;
}

/**
 * Exports `flow` and writes `dir/log_prob.onnx` and `dir/sample.onnx` (each atomically:
 * temporary file, then rename); with `triton`, the Triton repository too.
 */
export async function writeOnnx(dir: string, flow: Flow, options: NodeExportOptions = {}): Promise<{ logProb: string; sample: string }> {
  const models = exportOnnx(flow, options);
  const paths = { logProb: join(dir, ONNX_FILES.logProb), sample: join(dir, ONNX_FILES.sample) };
  await writeFileAtomic(paths.logProb, models.logProb);
  await writeFileAtomic(paths.sample, models.sample);
  return paths;
}

const require = createRequire(import.meta.url);

/** Where onnxruntime-node keeps its native libraries for this platform. */
function bindingDir(): string {
  return join(dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

function providerFile(ep: 'cuda' | 'tensorrt'): string {
  return process.platform === 'win32' ? `onnxruntime_providers_${ep}.dll` : `libonnxruntime_providers_${ep}.so`;
}

type OrtNode = OrtModule & { listSupportedBackends(): { name: string; bundled: boolean }[] };

let ortNode: Promise<OrtNode> | undefined;
let ortWeb: Promise<OrtModule & { env: { wasm: { numThreads?: number } } }> | undefined;

function loadOrtNode(): Promise<OrtNode> {
  return (ortNode ??= import('onnxruntime-node') as unknown as Promise<OrtNode>);
}

function loadOrtWeb() {
  ortWeb ??= (import('onnxruntime-web') as unknown as Promise<OrtModule & { env: { wasm: { numThreads?: number } } }>).then((m) => {
    // Threads must be set before the first session; onnxruntime-web runs them on worker_threads in Node.
    m.env.wasm.numThreads ??= availableParallelism();
    return m;
  });
  return ortWeb;
}

/**
 * Both ONNX Runtime builds are optional peer dependencies (onnxruntime-node is ~400 MB and its
 * install script downloads CUDA files), so a missing one is reported with the command that
 * installs it rather than as a load failure.
 */
export const ORT_INSTALL: Readonly<Record<'onnxruntime-node' | 'onnxruntime-web', string>> = {
  'onnxruntime-node': 'npm install onnxruntime-node@^1.30.0 --onnxruntime-node-install=skip',
  'onnxruntime-web': 'npm install onnxruntime-web@^1.30.0',
};

/** Why `pkg` cannot be used, when it is not installed; `undefined` when it resolves. */
export function ortNotInstalled(pkg: keyof typeof ORT_INSTALL): string | undefined {
  try {
    require.resolve(pkg);
    return undefined;
  } catch {
    return `${pkg} is not installed (it is an optional peer dependency of @bijective/backend-onnx); install it with \`${ORT_INSTALL[pkg]}\``;
  }
}

/** The first line of an error, without ONNX Runtime's `/source/file.cc:123 function(...) check was false.` prefix. */
function firstLine(e: unknown): string {
  const line = String((e as Error)?.message ?? e).split('\n')[0]!.trim();
  return line.replace(/^\/\S+:\d+ .*? was false\. /, '');
}

async function tryProbe(ort: OrtModule, ep: string): Promise<string | undefined> {
  try {
    const s = await ort.InferenceSession.create(probeModel(), { executionProviders: [ep], logSeverityLevel: 4 });
    await s.release();
    return undefined;
  } catch (e) {
    return firstLine(e);
  }
}

async function nodeEngineStatus(engine: OrtEngine): Promise<EngineStatus> {
  const no = (reason: string, install?: string): EngineStatus => ortUnavailable(engine, reason, install);
  if (engine === 'ort-web-webgpu') return no("onnxruntime-web's WebGPU engine runs in browsers (navigator.gpu); in Node use 'ort-node-webgpu'");
  if (engine === 'ort-web-wasm') {
    const missing = ortNotInstalled('onnxruntime-web');
    if (missing) return no(missing, ORT_INSTALL['onnxruntime-web']);
    let ort;
    try {
      ort = await loadOrtWeb();
    } catch (e) {
      return no(`onnxruntime-web could not be loaded (${firstLine(e)})`);
    }
    const err = await tryProbe(ort, 'wasm');
    return err ? no(`onnxruntime-web (WebAssembly) failed to start: ${err}`) : ortAvailable(engine, `onnxruntime-web WebAssembly, ${ort.env.wasm.numThreads ?? 1} threads`);
  }
  const missing = ortNotInstalled('onnxruntime-node');
  if (missing) return no(missing, ORT_INSTALL['onnxruntime-node']);
  let ort: OrtNode;
  try {
    ort = await loadOrtNode();
  } catch (e) {
    return no(`onnxruntime-node could not be loaded (${firstLine(e)})`);
  }
  const ep = EXECUTION_PROVIDER[engine];
  if (engine === 'ort-node-cpu') return ortAvailable(engine, `onnxruntime-node CPU, ${availableParallelism()} threads`);
  const listed = ort.listSupportedBackends().find((b) => b.name === ep);
  if (!listed) return no(`onnxruntime-node for ${process.platform}/${process.arch} has no ${ep} execution provider`);
  if (engine === 'ort-node-cuda' || engine === 'ort-node-tensorrt') {
    const file = providerFile(ep as 'cuda' | 'tensorrt');
    if (!existsSync(join(bindingDir(), file))) {
      return no(
        `not installed: the ${ep === 'cuda' ? 'CUDA' : 'TensorRT'} execution provider files (${file}); onnxruntime-node downloads them only when asked; ` +
          `install with \`npm install --onnxruntime-node-install=cuda12\` (needs an NVIDIA GPU with CUDA 12${ep === 'tensorrt' ? ', cuDNN 9 and TensorRT 10' : ' and cuDNN 9'})`,
        'npm install --onnxruntime-node-install=cuda12',
      );
    }
  }
  const err = await tryProbe(ort, ep);
  if (err) return no(`the ${ep} execution provider failed to start: ${err}`);
  return ortAvailable(engine, `onnxruntime-node ${ep} execution provider`);
}

/** Engine status (probed once, one probe at a time) and the list of every engine with its reason. */
const probes = engineProbes(nodeEngineStatus);
export const { engineStatus, listEngines, requireEngine } = probes;

export interface NodeRuntimeOptions {
  /** Default `'ort-node-cpu'`. */
  engine?: OrtEngine;
  /** Merged over the defaults: every core as intra-op threads, graph optimisation `'all'`. */
  sessionOptions?: InferenceSession.SessionOptions;
  /** When given a Flow: how it is exported (loop lowering). */
  exportOptions?: ExportOptions;
}

/** Session options tuned for throughput on `engine`; `overrides` win. */
export function defaultSessionOptions(engine: OrtEngine, overrides: InferenceSession.SessionOptions = {}): InferenceSession.SessionOptions {
  return {
    executionProviders: [EXECUTION_PROVIDER[engine]],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
    ...overrides,
  };
}

async function readModelPath(path: string): Promise<{ source: Uint8Array | { logProb?: Uint8Array; sample?: Uint8Array }; labels: Record<string, string> }> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new OnnxModelError(`${path}: no such file or directory`);
  }
  if (!info.isDirectory()) return { source: new Uint8Array(await readFile(path)), labels: { single: path } };
  const lp = join(path, ONNX_FILES.logProb);
  const s = join(path, ONNX_FILES.sample);
  const has = (p: string) => existsSync(p) && statSync(p).isFile();
  if (!has(lp) && !has(s)) throw new OnnxModelError(`${path}: the directory has neither ${ONNX_FILES.logProb} nor ${ONNX_FILES.sample}`);
  return {
    source: {
      ...(has(lp) ? { logProb: new Uint8Array(await readFile(lp)) } : {}),
      ...(has(s) ? { sample: new Uint8Array(await readFile(s)) } : {}),
    },
    labels: { logProb: lp, sample: s },
  };
}

/**
 * A {@link FlowRuntime} on ONNX Runtime. `model` is a Flow (exported in memory), the
 * `{ logProb, sample }` bytes of `exportOnnx`, the bytes of one `.onnx` file, or a path
 * (an export directory, or one `.onnx` file). Models are validated before any session
 * starts; asking for an engine that cannot run here throws an
 * {@link EngineUnavailableError} saying why and listing those that can.
 */
export async function ortRuntime(model: ModelSource | string, options: NodeRuntimeOptions = {}): Promise<OrtFlowRuntime> {
  const engine = await requireEngine(options.engine ?? 'ort-node-cpu');
  const read = typeof model === 'string' ? await readModelPath(model) : { source: model, labels: {} };
  const models = loadModels(read.source, options.exportOptions, read.labels);
  const ort = engine === 'ort-web-wasm' ? await loadOrtWeb() : await loadOrtNode();
  const sessionOptions = defaultSessionOptions(engine, options.sessionOptions);
  if (engine === 'ort-web-wasm') delete sessionOptions.intraOpNumThreads;
  return createOrtRuntime(ort, engine, models, sessionOptions);
}

/**
 * Worker threads of data-parallel training on `ort-node-cpu` by default (see
 * {@link parallelGradientEngine}): one per core, at most 4, each session with an equal share of
 * the cores as intra-op threads. Measured on 2 cores only (2 workers: glow-fmnist-small 120 → 98
 * ms per step at batch 64); with more cores, workers of several threads each.
 */
export function defaultTrainingWorkers(cores = availableParallelism()): number {
  return Math.max(1, Math.min(4, cores));
}

export interface OrtGradientsOptions {
  engine?: OrtEngine;
  sessionOptions?: InferenceSession.SessionOptions;
  /**
   * `ort-node-cpu` only: worker threads for data-parallel steps of objectives that are means over
   * the batch. A number uses that many for every such program (1: one session on the calling
   * thread); `'auto'` (the default) uses {@link defaultTrainingWorkers} where
   * {@link worthSplitting} says it pays (image flows with few parameters) and one session elsewhere.
   */
  workers?: number | 'auto';
}

/**
 * A {@link GradientEngine} on ONNX Runtime (default `'ort-node-cpu'`; `'ort-web-wasm'` runs in
 * Node too): core's gradient graph exported with the parameters as inputs, one session per
 * compiled graph, the same session options as {@link ortRuntime}. On `ort-node-cpu` training
 * steps run data-parallel over `workers` worker threads.
 */
export async function ortGradients(options: OrtGradientsOptions = {}): Promise<GradientEngine> {
  const engine = await requireEngine(options.engine ?? 'ort-node-cpu');
  const ort = engine === 'ort-web-wasm' ? await loadOrtWeb() : await loadOrtNode();
  const sessionOptions = defaultSessionOptions(engine, options.sessionOptions);
  if (engine === 'ort-web-wasm') delete sessionOptions.intraOpNumThreads;
  if (engine !== 'ort-node-cpu') {
    if (options.workers !== undefined && options.workers !== 'auto' && options.workers !== 1) throw new RangeError(`${engine} gradients: worker threads are for ort-node-cpu only, got workers ${options.workers}`);
    return ortGradientEngine(ort, engine, sessionOptions);
  }
  const auto = options.workers === undefined || options.workers === 'auto';
  const workers = auto ? defaultTrainingWorkers() : (options.workers as number);
  // The given intra-op threads (default: every core) are shared out among the workers.
  const threads = Math.max(1, Math.floor((options.sessionOptions?.intraOpNumThreads ?? availableParallelism()) / Math.max(1, workers)));
  // Spinning threads of one worker would take the core another worker computes on.
  const workerOptions = { ...sessionOptions, intraOpNumThreads: threads, extra: { session: { intra_op: { allow_spinning: '0' } } } };
  return parallelGradientEngine(ort, engine, sessionOptions, { workers, always: !auto, sessionOptions: workerOptions });
}

/** The `ort` engines in core's registry (`openRuntime(flow, 'ort-…')`, `listEngines()`). */
export const ortEngineProvider = registerOrtProvider(
  probes,
  (flow, engine) => ortRuntime(flow, { engine }),
  (engine) => ortGradients({ engine }),
);
