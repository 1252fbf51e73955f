import * as tf from '@tensorflow/tfjs-core';
import { INIT_PREFIX, applyInitOutputs, bitsPerDim, natsPerDim, traceFlow, type Flow } from '@bijective/core';
import { Adam, type AdamState } from './adam.js';
import { Batcher, checkTrainData, streamSeed, type TrainData } from './batches.js';
import { defaultCheckpointIO, type TensorMap } from './checkpoint-io.js';
import { DensityObjective } from './objective.js';
import { ParamSet } from './params.js';
import { GraphProgram } from './program.js';
import { startEngine } from './runtime.js';
import { checkSchedule, learningRate, type LrSchedule } from './schedule.js';
import {
  TrainingDivergedError,
  checkTrainerState,
  type Metric,
  type TrainOptions,
  type TrainProgress,
  type TrainResult,
  type TrainerState,
} from './train-options.js';

const VALIDATION_NOISE = 3;

function positiveInt(name: string, v: number | undefined, def: number): number {
  const x = v ?? def;
  if (!(Number.isInteger(x) && x >= 1)) throw new RangeError(`train: ${name} must be a positive integer, got ${v}`);
  return x;
}

/** Snapshot of the last good state, for rollbacks. */
interface Snapshot {
  step: number;
  params: Record<string, Float32Array>;
  adam: AdamState;
}

/**
 * Trains `flow` by maximum likelihood on `data` `[M, ...event]` with Adam, on a tfjs engine,
 * and writes the trained parameters back into `flow.params`.
 *
 * Each step: a seeded mini-batch (dequantised when asked), −mean log p and its gradients,
 * the global gradient norm, then, only if loss and norm are finite, a clipped Adam update
 * at the scheduled learning rate. A non-finite step is rejected and leaves the weights as
 * they were; after `maxConsecutiveFailures` in a row the weights and optimizer state roll
 * back to the last good snapshot and the learning rate is multiplied by `lrBackoff`.
 * ActNorm layers that are not initialised yet are initialised from the first batch.
 */
export async function train(flow: Flow, data: TrainData, options: TrainOptions = {}): Promise<TrainResult> {
  const event = flow.spec.event;
  const image = event.length === 3;
  const bins = options.dequantize ? (options.dequantize.bins ?? 256) : undefined;
  const metricBins = options.bins ?? bins ?? 256;
  checkTrainData('train: data', data, event, bins);
  if (options.validation) checkTrainData('train: validation', options.validation, event, bins);
  const metricOf = (loss: number): Metric =>
    image ? { name: 'bitsPerDim', value: bitsPerDim(loss, flow.dim, { bins: metricBins }) } : { name: 'natsPerDim', value: natsPerDim(loss, flow.dim) };

  const io = options.checkpointIO ?? defaultCheckpointIO();
  if ((options.checkpoint || options.resume) && !io) {
    throw new Error("train: checkpoints need a CheckpointIO — in Node import train from '@bijective/backend-tfjs/node'; elsewhere pass options.checkpointIO");
  }
  const state: TrainerState = {
    step: 0,
    updates: 0,
    rejected: 0,
    rollbacks: 0,
    lrScale: 1,
    seed: options.seed ?? 0,
    batchSize: positiveInt('batchSize', options.batchSize, 64),
    adamT: 0,
  };
  let resumedOptimizer: TensorMap | undefined;
  if (options.resume) {
    const saved = await io!.load(options.resume);
    if (JSON.stringify(saved.flow.spec) !== JSON.stringify(flow.spec)) {
      throw new Error(`resume: checkpoint ${options.resume} holds a different flow spec than the flow being trained`);
    }
    Object.assign(state, checkTrainerState((saved.meta as { training?: unknown }).training, options.resume));
    for (const [k, v] of [['seed', options.seed], ['batchSize', options.batchSize]] as const) {
      if (v !== undefined && v !== state[k]) throw new Error(`resume: the checkpoint was trained with ${k} ${state[k]}, options.${k} is ${v}`);
    }
    for (const [name, p] of Object.entries(saved.flow.params)) flow.params[name]!.data.set(p.data);
    resumedOptimizer = saved.optimizer;
  }

  const batcher = new Batcher(data, event, state.batchSize, state.seed, bins);
  const totalSteps =
    options.steps !== undefined ? positiveInt('steps', options.steps, 1) : positiveInt('epochs', options.epochs, 1) * batcher.batchesPerEpoch;
  const schedule: LrSchedule = { lr: options.lr ?? 1e-3, warmupSteps: options.warmupSteps ?? 0, decay: options.decay ?? { type: 'none' }, totalSteps };
  checkSchedule(schedule);
  const maxFailures = positiveInt('maxConsecutiveFailures', options.maxConsecutiveFailures, 5);
  const maxRollbacks = options.maxRollbacks ?? 5;
  const backoff = options.lrBackoff ?? 0.5;
  if (!(backoff > 0 && backoff < 1)) throw new RangeError(`train: lrBackoff must be in (0, 1), got ${backoff}`);
  const snapshotEvery = positiveInt('snapshotEvery', options.snapshotEvery, 100);
  const checkpointEvery = options.checkpoint ? positiveInt('checkpoint.every', options.checkpoint.every, 1000) : 0;
  const evalEvery = options.validation && options.evalEvery !== undefined ? positiveInt('evalEvery', options.evalEvery, 1) : 0;
  const clip = options.clipGradNorm;
  if (clip !== undefined && !(clip > 0)) throw new RangeError(`train: clipGradNorm must be positive, got ${clip}`);
  const report = async (p: TrainProgress) => {
    await options.onStep?.(p);
  };

  const engine = await startEngine(options.engine);
  await engine.activate();
  const params = new ParamSet(flow, { variables: true });
  let objective: DensityObjective | undefined;
  let adam: Adam | undefined;
  try {
    if (!options.resume) {
      const written = await dataInit(flow, params, batcher, options.initBatchSize ?? batcher.size);
      if (written.length) await report({ kind: 'init', step: 0, params: written });
    }
    objective = new DensityObjective(flow, params);
    adam = new Adam(params.variables, options.adam);
    if (resumedOptimizer) adam.restore(optimizerState(resumedOptimizer, state.adamT, Object.keys(params.variables)));
    const obj = objective;
    const opt = adam;
    /** Losses of the last accepted steps. */
    const recent: number[] = [];

    const evaluate = async (): Promise<{ loss: number; metric: Metric | undefined }> => {
      const v = options.validation!;
      const vb = new Batcher(v, event, state.batchSize, state.seed, bins);
      let total = 0;
      for (let start = 0; start < vb.count; start += vb.size) {
        const rows = Array.from({ length: Math.min(vb.size, vb.count - start) }, (_, i) => start + i);
        const x = tf.tensor(vb.rows(rows, streamSeed(state.seed, VALIDATION_NOISE, start)), [rows.length, ...event]);
        total += (await obj.loss(x)) * rows.length;
        x.dispose();
      }
      const loss = total / vb.count;
      return { loss, metric: Number.isFinite(loss) ? metricOf(loss) : undefined };
    };
    const takeSnapshot = async (): Promise<Snapshot> => ({ step: state.step, params: await params.read(), adam: await opt.state() });
    const saveCheckpoint = async () => {
      await params.writeBack();
      const s = await opt.state();
      state.adamT = s.t;
      const optimizer: TensorMap = {};
      for (const [name, m] of Object.entries(s.m)) {
        const shape = flow.params[name]!.shape;
        optimizer[`adam.m.${name}`] = { data: m, shape };
        optimizer[`adam.v.${name}`] = { data: s.v[name]!, shape };
      }
      const meta = { training: { ...state, engine: engine.name, lastLoss: recent.length ? mean(recent) : null, totalSteps } };
      await io!.save(options.checkpoint!.dir, flow, meta, optimizer);
      await report({ kind: 'checkpoint', step: state.step, dir: options.checkpoint!.dir });
    };

    let snapshot = await takeSnapshot();
    let consecutive = 0;
    let stopped = false;
    /** Back to the last snapshot with a lower learning rate, or (rollbacks spent) a TrainingDivergedError. */
    const rollBack = async (step: number, reason: string, what: string, lr: number) => {
      if (state.rollbacks >= maxRollbacks) {
        params.assign(snapshot.params);
        await params.writeBack();
        throw new TrainingDivergedError(`train: ${what} after ${state.rollbacks} rollbacks (learning rate now ${lr}); the flow keeps the last good parameters, from step ${snapshot.step}`);
      }
      params.assign(snapshot.params);
      opt.restore(snapshot.adam);
      state.lrScale *= backoff;
      state.rollbacks += 1;
      await report({ kind: 'rollback', step, toStep: snapshot.step, lr: learningRate(schedule, state.step) * state.lrScale, rollbacks: state.rollbacks, reason });
    };
    const started = performance.now();
    while (state.step < totalSteps) {
      if (options.signal?.aborted) {
        stopped = true;
        break;
      }
      const step = state.step;
      const lr = learningRate(schedule, step) * state.lrScale;
      const t0 = performance.now();
      const x = tf.tensor(batcher.batch(step), [batcher.size, ...event]);
      const { loss, grads } = await obj.lossAndGrads(x);
      x.dispose();
      const flat = opt.flatten(grads);
      tf.dispose(Object.values(grads));
      const both = tf.tidy(() => tf.stack([loss, tf.norm(flat)]));
      const [lossValue, norm] = (await both.data()) as Float32Array;
      both.dispose();
      loss.dispose();
      state.step += 1;
      if (!Number.isFinite(lossValue) || !Number.isFinite(norm)) {
        flat.dispose();
        state.rejected += 1;
        consecutive += 1;
        const reason = !Number.isFinite(lossValue) ? `loss is ${lossValue}` : `gradient norm is ${norm}`;
        await report({ kind: 'rejected', step, loss: lossValue!, gradNorm: norm!, consecutive, reason });
        if (consecutive >= maxFailures) {
          await rollBack(step, `${maxFailures} consecutive non-finite steps (${reason})`, `${consecutive} consecutive non-finite steps`, lr);
          consecutive = 0;
        }
        continue;
      }
      const clipped = clip !== undefined && norm! > clip;
      opt.apply(flat, lr, clipped ? clip / norm! : 1);
      flat.dispose();
      state.updates += 1;
      consecutive = 0;
      recent.push(lossValue!);
      if (recent.length > 50) recent.shift();
      const now = performance.now();
      await report({
        kind: 'step',
        step,
        totalSteps,
        epoch: batcher.epochOf(step),
        loss: lossValue!,
        metric: metricOf(lossValue!),
        gradNorm: norm!,
        clipped,
        lr,
        examplesPerSecond: (batcher.size * 1000) / (now - t0),
        elapsedMs: now - started,
      });
      if (evalEvery && state.step % evalEvery === 0) {
        const ev = await evaluate();
        // A diverged evaluation is a divergent step: back to the last good snapshot.
        if (!ev.metric) {
          await rollBack(step, `the periodic evaluation's loss is ${ev.loss}`, `a non-finite evaluation loss (${ev.loss})`, lr);
          continue;
        }
        await report({ kind: 'eval', step, loss: ev.loss, metric: ev.metric, examples: options.validation!.shape[0]! });
      }
      if (checkpointEvery && state.step % checkpointEvery === 0 && state.step < totalSteps) {
        await saveCheckpoint();
        snapshot = await takeSnapshot();
      } else if (state.updates % snapshotEvery === 0) snapshot = await takeSnapshot();
    }
    await params.writeBack();
    if (options.checkpoint) await saveCheckpoint();
    const last = options.validation ? await evaluate() : undefined;
    const validation = last && { loss: last.loss, metric: last.metric ?? { name: image ? 'bitsPerDim' : 'natsPerDim', value: NaN } };
    const finalLoss = recent.length ? mean(recent) : NaN;
    return {
      engine: engine.name,
      steps: state.step,
      updates: state.updates,
      loss: finalLoss,
      metric: Number.isFinite(finalLoss) ? metricOf(finalLoss) : { name: image ? 'bitsPerDim' : 'natsPerDim', value: NaN },
      ...(validation ? { validation } : {}),
      rejected: state.rejected,
      rollbacks: state.rollbacks,
      lrScale: state.lrScale,
      stopped,
    };
  } finally {
    objective?.dispose();
    adam?.dispose();
    params.dispose();
  }
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function optimizerState(saved: TensorMap, t: number, names: readonly string[]): AdamState {
  const m: Record<string, Float32Array> = {};
  const v: Record<string, Float32Array> = {};
  for (const name of names) {
    const ms = saved[`adam.m.${name}`];
    const vs = saved[`adam.v.${name}`];
    if (!ms || !vs) throw new Error(`resume: the checkpoint has no optimizer state for parameter '${name}'`);
    m[name] = ms.data;
    v[name] = vs.data;
  }
  return { t, m, v };
}

/**
 * Data-dependent initialisation: runs the `dataInit` trace on the first batch and writes the
 * `init:*` outputs into `flow.params` (core's `applyInitOutputs`), then re-uploads them.
 * Returns the parameters written (none when every layer is initialised already).
 */
async function dataInit(flow: Flow, params: ParamSet, batcher: Batcher, size: number): Promise<string[]> {
  const graph = traceFlow(flow, 'density', { dataInit: true });
  const keys = Object.keys(graph.outputs).filter((k) => k.startsWith(INIT_PREFIX));
  if (keys.length === 0) return [];
  const program = new GraphProgram(graph);
  try {
    const prepared = await program.prepare(params.tensors);
    const outs = tf.tidy(() => {
      const x = tf.tensor(batcher.batch(0, size), [Math.min(size, batcher.count), ...batcher.event]);
      const all = program.run({ x }, params.tensors, prepared, { release: true });
      return Object.fromEntries(keys.map((k) => [k, all[k]!]));
    });
    const values: Record<string, { data: Float32Array }> = {};
    for (const k of keys) {
      values[k] = { data: (await outs[k]!.data()) as Float32Array };
      outs[k]!.dispose();
    }
    const written = applyInitOutputs(flow, values);
    params.refresh();
    return written;
  } finally {
    program.dispose();
  }
}
