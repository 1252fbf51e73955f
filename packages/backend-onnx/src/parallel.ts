import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { GradientEngine, GradientProgram, Graph } from '@bijective/core';
import type { InferenceSession } from 'onnxruntime-web';
import type { OrtEngine } from './engines.js';
import { exportGradientModel, gradientFeeds, gradientResult, ortGradientEngine, type PlainTensor } from './gradients.js';
import type { OrtModule } from './runtime.js';

/**
 * Data-parallel training on onnxruntime-node: `workers` worker threads each hold a session of
 * the same gradient model and compute loss and gradients of one slice of the batch; the slices'
 * results are averaged, weighted by their sizes. This is exact for a loss that is a mean over the
 * batch ({@link GradientOptions.meanOverBatch}), up to float32 rounding, and deterministic (the
 * same batch is always cut and summed the same way).
 *
 * Why: ORT's intra-op threading splits each kernel across the cores, and a training step of a
 * small conv flow is thousands of small kernels, each with a fork/join. On the 2-core machine,
 * glow-fmnist-small at batch 64 took 120 ms per step with one session on 2 threads and 98 ms
 * with two single-threaded sessions on 32 examples each (the bench README has the figures).
 * onnxruntime-node runs one session's calls one after another on the main thread, so the
 * sessions live in workers.
 *
 * Programs compiled without `meanOverBatch` (the data-dependent initialisation's batch
 * statistics), for fewer than two workers, or (unless `always`) for graphs where
 * {@link worthSplitting} says the copies would cost more than they save, use one session on
 * the calling thread.
 */
export interface ParallelOptions {
  /** Worker threads (each one session); at most the batch size are used in a step. */
  readonly workers: number;
  /**
   * Whether every `meanOverBatch` program runs on the workers (`true`), or only those for which
   * {@link worthSplitting} says so (`false`, the default's choice).
   */
  readonly always: boolean;
  /** Session options of every worker's session (their intra-op threads included). */
  readonly sessionOptions: InferenceSession.SessionOptions;
}

/** The worker's code (CommonJS, evaluated): one session, one run per message. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
const ready = ort.InferenceSession.create(workerData.bytes, workerData.sessionOptions).then((s) => { session = s; });
parentPort.on('message', async (msg) => {
  try {
    await ready;
    if (msg.dispose) { await session.release(); parentPort.postMessage({ disposed: true }); return; }
    const feeds = {};
    for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor('float32', t.data, t.dims);
    const out = await session.run(feeds);
    const result = {};
    const buffers = new Set();
    for (const [name, t] of Object.entries(out)) {
      result[name] = { type: t.type, data: t.data };
      buffers.add(t.data.buffer);
    }
    // Moved, not copied, where the buffers allow it.
    try {
      parentPort.postMessage({ out: result }, [...buffers]);
    } catch {
      parentPort.postMessage({ out: result });
    }
  } catch (e) {
    parentPort.postMessage({ error: String(e && e.message ? e.message : e) });
  }
});
`;

interface Reply {
  out?: Record<string, { type: string; data: Float32Array }>;
  error?: string;
  disposed?: boolean;
}

/** One worker thread with its session; `call` sends one message and waits for its reply. */
class SessionWorker {
  private readonly worker: Worker;
  private failure: Error | undefined;
  private pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  /** The last call's reply, settled either way: what dispose waits for. */
  private inflight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly label: string,
    ortPath: string,
    bytes: Uint8Array,
    sessionOptions: InferenceSession.SessionOptions,
  ) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath, bytes, sessionOptions } });
    // An idle worker does not keep the process alive; a call in flight does (see call).
    this.worker.unref();
    this.worker.on('message', (r: Reply) => this.settle((p) => (r.error !== undefined ? p.reject(new Error(`${this.label}: ${r.error}`)) : p.resolve(r))));
    this.worker.on('error', (e) => this.fail(new Error(`${this.label}: the worker thread failed: ${e.message}`)));
    this.worker.on('exit', (code) => this.fail(new Error(`${this.label}: the worker thread exited (code ${code})`)));
  }

  private settle(f: (p: NonNullable<SessionWorker['pending']>) => void) {
    const p = this.pending;
    this.pending = undefined;
    this.worker.unref();
    if (p) f(p);
  }

  private fail(e: Error) {
    this.failure ??= e;
    this.settle((p) => p.reject(e));
  }

  call(message: unknown): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new Error(`${this.label}: a call is already in flight`));
    const reply = new Promise<Reply>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref();
      this.worker.postMessage(message);
    });
    this.inflight = reply.catch(() => undefined);
    return reply;
  }

  /**
   * Releases the session and stops the thread, after the call in flight (if any) has finished:
   * terminating a worker while onnxruntime-node runs a session in it aborts the process.
   */
  async dispose() {
    await this.inflight;
    if (!this.failure) await this.call({ dispose: true }).catch(() => undefined);
    this.failure ??= new Error(`${this.label}: disposed`);
    await this.worker.terminate();
  }
}

/** Largest parameter count {@link worthSplitting} sends to workers (4 MB of float32 per copy). */
export const SPLIT_MAX_PARAMS = 1_000_000;
/** Smallest example (values per example, over every input) {@link worthSplitting} sends to workers. */
export const SPLIT_MIN_EXAMPLE = 64;

/**
 * Whether data parallelism pays for `graph`: every step copies the parameters to each worker and
 * the gradients back, and a worker call costs a message round trip, so it pays when an example is
 * large (images) and the parameters are few. Measured on 2 cores, one session against 2 workers
 * (ms per step): glow-fmnist-small @64 (152k parameters) 126 → 105, mintnet-fmnist-small @64
 * 99 → 86; but maf-784 @64 (12M parameters) 77 → 368 and realnvp-2d @256 2.5 → 3.2.
 */
export function worthSplitting(graph: Graph, wrt: readonly string[]): boolean {
  const size = (shape: readonly (number | string)[]) => shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
  const params = wrt.reduce((a, p) => a + size(graph.params[p] ?? []), 0);
  const example = Object.values(graph.inputs).reduce((a, id) => a + size(graph.nodes[id]!.shape), 0);
  return params <= SPLIT_MAX_PARAMS && example >= SPLIT_MIN_EXAMPLE;
}

/** Cuts `n` examples into at most `k` contiguous slices of sizes differing by at most one. */
export function batchSlices(n: number, k: number): { start: number; size: number }[] {
  const parts = Math.max(1, Math.min(k, n));
  const base = Math.floor(n / parts);
  const extra = n % parts;
  const slices: { start: number; size: number }[] = [];
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const size = base + (i < extra ? 1 : 0);
    slices.push({ start, size });
    start += size;
  }
  return slices;
}

function sliceBatch(t: PlainTensor, start: number, size: number): PlainTensor {
  const row = t.data.length / (t.dims[0] as number);
  return { data: t.data.slice(start * row, (start + size) * row), dims: [size, ...t.dims.slice(1)] };
}

/**
 * A {@link GradientEngine} on onnxruntime-node that runs `meanOverBatch` programs data-parallel
 * over worker threads (see {@link ParallelOptions}); other programs run on `single`.
 */
export function parallelGradientEngine(ort: OrtModule, engine: OrtEngine, single: InferenceSession.SessionOptions, options: ParallelOptions): GradientEngine {
  const fallback = ortGradientEngine(ort, engine, single);
  if (!(Number.isInteger(options.workers) && options.workers >= 1)) throw new RangeError(`${engine} gradients: workers must be a positive integer, got ${options.workers}`);
  return {
    engine,
    async compile(graph, gradOptions): Promise<GradientProgram> {
      if (options.workers < 2 || !gradOptions.meanOverBatch || !(options.always || worthSplitting(graph, gradOptions.wrt))) return fallback.compile(graph, gradOptions);
      if ((gradOptions.outputs ?? []).length > 0) throw new Error(`${engine} gradients: meanOverBatch does not allow kept outputs (${gradOptions.outputs!.join(', ')})`);
      const model = exportGradientModel(graph, gradOptions);
      const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
      const workers = Array.from({ length: options.workers }, (_, i) => new SessionWorker(`${engine} gradient worker ${i + 1}/${options.workers}`, ortPath, model.bytes, options.sessionOptions));
      let disposed = false;
      return {
        engine,
        async run(inputs, params) {
          if (disposed) throw new Error(`${engine} gradients: run after dispose`);
          const { batch, shared } = gradientFeeds(engine, model, graph.params, inputs, params);
          const sizes = new Set(Object.values(batch).map((t) => t.dims[0]));
          if (sizes.size !== 1) throw new Error(`${engine} gradients: meanOverBatch needs one batch size across the inputs, got ${[...sizes].join(', ')}`);
          const n = [...sizes][0] as number;
          const slices = batchSlices(n, workers.length);
          // Mean of slice means, weighted by slice size: float64 sums in slice order, each slice
          // added as soon as it and the slices before it have arrived (while later ones compute).
          const w = slices.map((s) => s.size / n);
          const acc: Record<string, Float64Array> = {};
          let loss = 0;
          let next = 0;
          const arrived: (ReturnType<typeof gradientResult> | undefined)[] = [];
          const absorb = (k: number, r: ReturnType<typeof gradientResult>) => {
            arrived[k] = r;
            for (let q = arrived[next]; q !== undefined; q = arrived[next]) {
              const wk = w[next]!;
              loss += wk * q.loss;
              for (const [p, g] of Object.entries(q.grads)) {
                const a = (acc[p] ??= new Float64Array(g.length));
                // Plain loops: TypedArray.from with a map function measured 10× slower here.
                for (let i = 0; i < a.length; i++) a[i]! += wk * g[i]!;
              }
              arrived[next++] = undefined;
            }
          };
          // Every slice settles before the step reports (a failed slice leaves no worker running).
          const settled = await Promise.allSettled(
            slices.map(({ start, size }, k) =>
              workers[k]!.call({ feeds: { ...shared, ...Object.fromEntries(Object.entries(batch).map(([name, t]) => [name, sliceBatch(t, start, size)])) } }).then((reply) =>
                absorb(k, gradientResult(engine, model, reply.out!)),
              ),
            ),
          );
          const failed = settled.find((r) => r.status === 'rejected');
          if (failed) throw failed.reason;
          const grads: Record<string, Float32Array> = {};
          for (const [p, a] of Object.entries(acc)) {
            const out = new Float32Array(a.length);
            out.set(a);
            grads[p] = out;
          }
          return { loss, outputs: {}, grads };
        },
        async dispose() {
          if (disposed) return;
          disposed = true;
          await Promise.all(workers.map((wk) => wk.dispose()));
        },
      };
    },
  };
}
