/**
 * The shape of `results.json`: everything a report is made from, so a report can be
 * regenerated (and checked) from the file alone.
 */

export const RESULTS_SCHEMA = 'bijective.bench.results/1';

/**
 * What a cell times: `logProb(x)`, `sample` (decode(z) of pre-drawn noise), or `train`: one
 * full training step as core's trainer runs it (loss and gradients of a batch on the engine,
 * the gradient norm and the Adam update on the host).
 */
export type Task = 'logProb' | 'sample' | 'train';
export const TASKS: readonly Task[] = ['logProb', 'sample', 'train'];
/** The tasks that run a flow runtime (the others run the engine's gradient program). */
export type InferenceTask = Exclude<Task, 'train'>;
export const isInferenceTask = (t: Task): t is InferenceTask => t !== 'train';

/** Where an engine runs: this Node process's children, or a page in headless Chromium. */
export type Host = 'node' | 'chromium';

/** A WebGPU adapter as the page saw it. */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** A software rasteriser (SwiftShader or a fallback adapter): GPU rows then measure the CPU. */
  software: boolean;
}

/** What a page reports about the browser it runs in (shared by the page script and its driver). */
export interface PageEnvironment {
  userAgent: string;
  hardwareConcurrency: number;
  crossOriginIsolated: boolean;
  webgpu?: GpuAdapterInfo;
  /** Why there is no adapter, when there is none. */
  webgpuUnavailable?: string;
  /** The WebGL renderer string (UNMASKED_RENDERER_WEBGL where exposed). */
  webgl?: string;
  /** What the memory column measures in this browser. */
  memoryKind: string;
}

export interface BrowserInfo extends Omit<PageEnvironment, 'memoryKind'> {
  name: string;
  version: string;
  executable: string;
  webglSoftware?: boolean;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  os: string;
  platform: string;
  arch: string;
  node: string;
  v8: string;
  /** 1-minute load average when the run started and ended (other work on the machine makes timings noisy). */
  loadAverage?: { start: number; end: number };
  browser?: BrowserInfo;
}

export interface EngineResult {
  /** `node/tfjs-wasm`, `chromium/ort-web-webgpu`: engine names repeat across hosts. */
  id: string;
  engine: string;
  host: Host;
  status: 'ran' | 'skipped' | 'failed';
  /** Why it was skipped or failed. */
  reason?: string;
  /** What would make it available, where something would. */
  install?: string;
  /** What runs, as the backend describes it (e.g. `SIMD, 2 threads`). */
  detail?: string;
  /** Package versions behind the engine. */
  versions: Record<string, string>;
  /** Shown next to the engine's rows, e.g. that WebGPU is a software adapter. */
  note?: string;
  /** What the memory column measures for this engine. */
  memoryKind?: string;
  /** Node: the worker process's peak RSS over its whole life (getrusage maxrss). */
  processPeakRssBytes?: number;
}

export interface FlopCountResult {
  macs: number;
  other: number;
  flops: number;
}

export interface PresetResult {
  name: string;
  description: string;
  family: string;
  dataset: string;
  event: number[];
  dim: number;
  params: number;
  weights: { source: 'checkpoint'; path: string; meta?: Record<string, unknown> } | { source: 'seeded'; seed: number; why: string };
  /** What `x` is for logProb: uniform on [0, 1) (dequantised pixels) or standard normal. */
  inputs: 'unit' | 'normal';
  /**
   * Work per example, from core's countFlops: the density graph for logProb, the sample graph
   * for sample, core's gradient graph of the training loss (forward and backward; the host's
   * Adam update is not counted) for train — present when the run has the train task.
   */
  flops: Record<InferenceTask, FlopCountResult> & { train?: FlopCountResult };
  /** A checksum of the float32 weights every engine received (sum of all values). */
  weightsChecksum: number;
}

export interface Tolerance {
  rtol: number;
  atol: number;
}

export interface CheckResult {
  engineId: string;
  preset: string;
  task: Task;
  batch: number;
  status: 'pass' | 'wrong' | 'error';
  /** What was compared: logProb (nats) for logProb, the sample x for sample, the loss and every gradient entry for train. */
  compared: string;
  /** For train: the gradients' tolerance (its atol already scaled by the largest reference gradient; the loss is held to the logProb tolerance). */
  tolerance: Tolerance;
  /** null when an output is NaN/infinite. */
  maxAbsError?: number | null;
  maxRelError?: number | null;
  worst?: { index: number; actual: number; expected: number; error: number };
  message?: string;
  /** The first call of this task on this engine (compilation, shader and session set-up included). */
  coldMs?: number;
}

export interface TimingResult {
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
  ciLowMs?: number;
  ciHighMs?: number;
  /** Half-width of the median's 95% CI over the median; null when there were too few samples for an interval (n < 6). */
  relHalfWidth: number | null;
  samples: number;
  /** Consecutive calls timed together per sample (fast calls are batched so one sample is well above timer resolution). */
  callsPerSample: number;
  warmupCalls: number;
  warmupMs: number;
  stopReason: string;
  /** Time spent in timed samples. */
  elapsedMs: number;
  /** Per-call time of every sample, in order. */
  samplesMs: number[];
}

export interface MeasurementResult {
  engineId: string;
  engine: string;
  host: Host;
  preset: string;
  task: Task;
  batch: number;
  /** ok; wrong: outputs disagree with the reference (never a winner); error: it did not run; skipped: not attempted (`error` says why). */
  status: 'ok' | 'wrong' | 'error' | 'skipped';
  error?: string;
  timing?: TimingResult;
  /** Examples per second at the median (for train: examples per second of training, batch ÷ step time). */
  throughput?: number;
  /** countFlops × batch / median (absent where the preset has no flop count for the task). */
  gflops?: number;
  /** gflops over the GEMM peak measured on ort-node-cpu in this run. */
  roofline?: number;
  /** Peak memory seen while this row ran; `kind` says what was measured. */
  memory?: { peakBytes: number; kind: string };
}

export interface GemmPeak {
  engine: string;
  m: number;
  k: number;
  n: number;
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  /** The fastest sample. */
  bestMs?: number;
  /** The peak: 2·m·k·n over the fastest sample, GFLOP/s (the roofline column's 100%). */
  gflops: number;
  /** The same over the median sample. */
  medianGflops?: number;
  samples: number;
}

export interface BenchOptionsRecord {
  mode: 'quick' | 'full';
  engines: string[];
  presets: string[];
  batches: number[];
  tasks: Task[];
  browser: boolean;
  checkBatch: number;
  timing: Record<string, number>;
}

export interface BenchResults {
  schema: typeof RESULTS_SCHEMA;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  command: string;
  options: BenchOptionsRecord;
  machine: MachineInfo;
  gemm: GemmPeak | { skipped: string };
  engines: EngineResult[];
  presets: PresetResult[];
  checks: CheckResult[];
  measurements: MeasurementResult[];
  notes: string[];
}

export const engineId = (host: Host, engine: string) => `${host}/${engine}`;
