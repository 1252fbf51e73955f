import type { GradientEngine, GradientProgram } from '../engine/types.js';
import { CONTEXT_INPUT } from '../flow/context.js';
import type { Flow } from '../flow/flow.js';
import { applyInitOutputs } from '../flow/init.js';
import { bitsPerDim, natsPerDim } from '../flow/metrics.js';
import { DENSITY_OUTPUTS, INIT_PREFIX, traceFlow } from '../flow/trace.js';
import { GraphBuilder, type Graph, type Value } from '../graph/graph.js';
import { inlineGraph } from '../graph/inline.js';
import type { Tensor } from '../tensor.js';
import { Batcher, checkTrainData, streamSeed, type TrainData } from './batches.js';
import { defaultCheckpointIO } from './checkpoint-io.js';
import { loadResume, runLoop, trainableParams, type Resumed } from './loop.js';
import { LOSS_OUTPUTS, densityLossGraph } from './objective.js';
import type { Metric, TrainOptions, TrainResult, TrainerState } from './options.js';
import { checkSchedule, type LrSchedule } from './schedule.js';

const VALIDATION_NOISE = 3;

export function positiveInt(name: string, v: number | undefined, def: number): number {
  const x = v ?? def;
  if (!(Number.isInteger(x) && x >= 1)) throw new RangeError(`train: ${name} must be a positive integer, got ${v}`);
  return x;
}

/** The graph inputs of a batch: `x` `[n, ...event]` and a conditional flow's `context` `[n, K]`. */
function batchInputs(x: Float32Array, event: readonly number[], context: Float32Array | undefined): Record<string, Tensor> {
  const n = x.length / event.reduce((a, b) => a * b, 1);
  const inputs: Record<string, Tensor> = { x: { data: x, shape: [n, ...event] } };
  if (context) inputs[CONTEXT_INPUT] = { data: context, shape: [n, context.length / n] };
  return inputs;
}

/**
 * The data-dependent initialisation pass as a loss graph an engine can run: the `dataInit`
 * trace's `init:*` outputs, beside `loss` = −mean log p (what every program must output).
 * Undefined when every layer is initialised already.
 */
export function dataInitGraph(flow: Flow): { graph: Graph; keys: string[] } | undefined {
  const init = traceFlow(flow, 'density', { dataInit: true });
  const keys = Object.keys(init.outputs).filter((k) => k.startsWith(INIT_PREFIX));
  if (keys.length === 0) return undefined;
  const g = new GraphBuilder();
  const feeds: Record<string, Value> = { x: g.input('x', ['N', ...flow.spec.event]) };
  if (flow.spec.context) feeds[CONTEXT_INPUT] = g.input(CONTEXT_INPUT, ['N', ...flow.spec.context]);
  const out = inlineGraph(g, init, feeds);
  g.output(LOSS_OUTPUTS.loss, g.neg(g.mean(out[DENSITY_OUTPUTS.logProb]!, [0])));
  for (const k of keys) g.output(k, out[k]!);
  return { graph: g.build(), keys };
}

async function dataInit(engine: GradientEngine, flow: Flow, batcher: Batcher, size: number): Promise<string[]> {
  const init = dataInitGraph(flow);
  if (!init) return [];
  const program = await engine.compile(init.graph, { loss: LOSS_OUTPUTS.loss, wrt: [], outputs: init.keys });
  try {
    const params = Object.fromEntries(Object.entries(flow.params).map(([n, p]) => [n, p.data]));
    const { outputs } = await program.run(batchInputs(batcher.batch(0, size), batcher.event, batcher.batchContext(0, size)), params);
    return applyInitOutputs(flow, Object.fromEntries(init.keys.map((k) => [k, { data: outputs[k]! }])));
  } finally {
    await program.dispose();
  }
}

/**
 * Trains `flow` by maximum likelihood on `data` `[M, ...event]` with Adam, on any engine that
 * computes loss and gradients of a graph (a {@link GradientEngine}: core's registry gives one
 * for every engine whose status says `trains: true`), updating `flow.params` in place.
 *
 * The objective is {@link densityLossGraph} (−mean log p(x), nats per example), traced after
 * the data-dependent initialisation: ActNorm layers not initialised yet are initialised from
 * the first batch (on the same engine). Batches are seeded and dequantised when asked
 * (`Batcher`); the loop (Adam, clipping, schedule, non-finite rejection, rollback, snapshots,
 * checkpoints, progress) is {@link runLoop}. A run resumed from a checkpoint continues
 * bit-identically: nothing in a step depends on history beyond the saved state.
 */
export async function trainFlow(engine: GradientEngine, flow: Flow, data: TrainData, options: TrainOptions = {}): Promise<TrainResult> {
  const event = flow.spec.event;
  const image = event.length === 3;
  const bins = options.dequantize ? (options.dequantize.bins ?? 256) : undefined;
  const metricBins = options.bins ?? bins ?? 256;
  checkTrainData('train: data', data, event, bins);
  const k = flow.spec.context?.[0];
  if (k !== undefined && data.context?.shape[1] !== k) throw new RangeError(`train: the flow is conditional on a context of [${k}]; data.context must be [M, ${k}], got ${data.context ? `[${data.context.shape.join(', ')}]` : 'none'}`);
  if (k === undefined && data.context) throw new RangeError('train: data has a context, but the flow is not conditional (its spec has no context)');
  if (k !== undefined && options.validation && options.validation.context?.shape[1] !== k) throw new RangeError(`train: validation.context must be [M, ${k}] for this conditional flow`);
  if (options.validation) checkTrainData('train: validation', options.validation, event, bins);
  const metricName = image ? 'bitsPerDim' : 'natsPerDim';
  const metricOf = (loss: number): Metric => ({ name: metricName, value: image ? bitsPerDim(loss, flow.dim, { bins: metricBins }) : natsPerDim(loss, flow.dim) });

  const io = options.checkpointIO ?? defaultCheckpointIO();
  if ((options.checkpoint || options.resume) && !io) {
    throw new Error("train: checkpoints need a CheckpointIO — in Node import from '@bijective/core/node' (or a backend's /node entry point); elsewhere pass options.checkpointIO");
  }
  let state: TrainerState = {
    step: 0,
    updates: 0,
    rejected: 0,
    rollbacks: 0,
    lrScale: 1,
    seed: options.seed ?? 0,
    batchSize: positiveInt('batchSize', options.batchSize, 64),
    adamT: 0,
  };
  let resumed: Resumed | undefined;
  if (options.resume) {
    resumed = await loadResume(io!, options.resume, flow, options);
    state = resumed.state;
  }

  const batcher = new Batcher(data, event, state.batchSize, state.seed, bins);
  const totalSteps = options.steps !== undefined ? positiveInt('steps', options.steps, 1) : positiveInt('epochs', options.epochs, 1) * batcher.batchesPerEpoch;
  const schedule: LrSchedule = { lr: options.lr ?? 1e-3, warmupSteps: options.warmupSteps ?? 0, decay: options.decay ?? { type: 'none' }, totalSteps };
  checkSchedule(schedule);
  const maxConsecutiveFailures = positiveInt('maxConsecutiveFailures', options.maxConsecutiveFailures, 5);
  const lrBackoff = options.lrBackoff ?? 0.5;
  if (!(lrBackoff > 0 && lrBackoff < 1)) throw new RangeError(`train: lrBackoff must be in (0, 1), got ${lrBackoff}`);
  const maxRollbacks = options.maxRollbacks ?? 5;
  if (!(Number.isInteger(maxRollbacks) && maxRollbacks >= 0)) throw new RangeError(`train: maxRollbacks must be a non-negative integer, got ${maxRollbacks}`);
  const snapshotEvery = positiveInt('snapshotEvery', options.snapshotEvery, 100);
  const checkpointEvery = options.checkpoint ? positiveInt('checkpoint.every', options.checkpoint.every, 1000) : 0;
  const evalEvery = options.validation && options.evalEvery !== undefined ? positiveInt('evalEvery', options.evalEvery, 1) : 0;
  const clip = options.clipGradNorm;
  if (clip !== undefined && !(clip > 0)) throw new RangeError(`train: clipGradNorm must be positive, got ${clip}`);

  if (!resumed) {
    const written = await dataInit(engine, flow, batcher, options.initBatchSize ?? batcher.size);
    if (written.length) await options.onStep?.({ kind: 'init', step: 0, params: written });
  }
  const graph = densityLossGraph(flow);
  const wrt = trainableParams(flow);
  const params = Object.fromEntries(Object.entries(flow.params).map(([n, p]) => [n, p.data]));
  let program: GradientProgram | undefined;
  let evalProgram: GradientProgram | undefined;
  try {
    program = await engine.compile(graph, { loss: LOSS_OUTPUTS.loss, wrt, meanOverBatch: true });
    const v = options.validation;
    if (v) evalProgram = await engine.compile(graph, { loss: LOSS_OUTPUTS.loss, wrt: [], meanOverBatch: true });
    const evaluate = async (): Promise<{ loss: number; metric: Metric | undefined; examples: number }> => {
      const vb = new Batcher(v!, event, state.batchSize, state.seed, bins);
      let total = 0;
      for (let start = 0; start < vb.count; start += vb.size) {
        const rows = Array.from({ length: Math.min(vb.size, vb.count - start) }, (_, i) => start + i);
        const x = vb.rows(rows, streamSeed(state.seed, VALIDATION_NOISE, start));
        total += (await evalProgram!.run(batchInputs(x, event, vb.contextRows(rows)), params)).loss * rows.length;
      }
      const loss = total / vb.count;
      return { loss, metric: Number.isFinite(loss) ? metricOf(loss) : undefined, examples: vb.count };
    };
    const result = await runLoop(
      {
        flow,
        program,
        batch: (step) => batchInputs(batcher.batch(step), event, batcher.batchContext(step)),
        examplesPerStep: batcher.size,
        epochOf: (step) => batcher.epochOf(step),
        metricOf,
        ...(v ? { evaluate } : {}),
      },
      {
        totalSteps,
        schedule,
        ...(options.adam ? { adam: options.adam } : {}),
        ...(clip !== undefined ? { clipGradNorm: clip } : {}),
        maxConsecutiveFailures,
        maxRollbacks,
        lrBackoff,
        snapshotEvery,
        evalEvery,
        ...(options.checkpoint ? { checkpoint: { dir: options.checkpoint.dir, every: checkpointEvery, io: io! } } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onStep ? { onStep: options.onStep } : {}),
      },
      state,
      resumed?.optimizer,
    );
    const last = v ? await evaluate() : undefined;
    const validation = last && { loss: last.loss, metric: last.metric ?? { name: metricName, value: NaN } };
    const finalLoss = result.recent.length ? result.recent.reduce((a, b) => a + b, 0) / result.recent.length : NaN;
    return {
      engine: program.engine,
      steps: state.step,
      updates: state.updates,
      loss: finalLoss,
      metric: Number.isFinite(finalLoss) ? metricOf(finalLoss) : { name: metricName, value: NaN },
      ...(validation ? { validation } : {}),
      rejected: state.rejected,
      rollbacks: state.rollbacks,
      lrScale: state.lrScale,
      stopped: result.stopped,
    };
  } finally {
    await program?.dispose();
    await evalProgram?.dispose();
  }
}
