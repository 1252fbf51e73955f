import type { GradientProgram } from '../engine/types.js';
import type { Flow } from '../flow/flow.js';
import type { Tensor } from '../tensor.js';
import { Adam, type AdamOptions, type AdamState } from './adam.js';
import type { CheckpointIO, TensorMap } from './checkpoint-io.js';
import { checkTrainerState, TrainingDivergedError, type Metric, type TrainProgress, type TrainerState } from './options.js';
import { learningRate, type LrSchedule } from './schedule.js';

/**
 * What one training run optimises, independent of the engine: a compiled loss program
 * (`loss` and d loss / dθ for the flow's trainable parameters), the graph inputs of each step
 * (a pure function of the step, so a resumed run sees the batches the uninterrupted one did)
 * and the parameters fed but never trained (a distillation teacher's).
 */
export interface TrainingProblem {
  /** The flow being trained; its trainable `params` are updated in place. */
  readonly flow: Flow;
  /** The loss program, compiled with `wrt` = the flow's trainable parameters. */
  readonly program: GradientProgram;
  /** The graph's parameters that are not the flow's (held fixed), by graph name. */
  readonly fixed?: Readonly<Record<string, Float32Array>>;
  /** The graph inputs of step `step`. */
  batch(step: number): Record<string, Tensor>;
  /** Examples per step (for examples/s). */
  readonly examplesPerStep: number;
  epochOf(step: number): number;
  metricOf(loss: number): Metric;
  /** Held-out evaluation at the current parameters: its loss, the metric (absent when not finite), the examples seen. */
  evaluate?(): Promise<{ loss: number; metric: Metric | undefined; examples: number }>;
}

/** The loop's settings, already checked (see `trainFlow`). */
export interface LoopSettings {
  readonly totalSteps: number;
  readonly schedule: LrSchedule;
  readonly adam?: AdamOptions;
  readonly clipGradNorm?: number;
  readonly maxConsecutiveFailures: number;
  readonly maxRollbacks: number;
  readonly lrBackoff: number;
  readonly snapshotEvery: number;
  readonly evalEvery: number;
  readonly checkpoint?: { readonly dir: string; readonly every: number; readonly io: CheckpointIO };
  readonly signal?: AbortSignal;
  readonly onStep?: (progress: TrainProgress) => void | Promise<void>;
}

/** What the loop ends with. */
export interface LoopResult {
  readonly state: TrainerState;
  /** Losses of the last accepted steps (up to 50). */
  readonly recent: readonly number[];
  readonly stopped: boolean;
}

/** A resumed run: the trainer state and optimizer moments read from its checkpoint (weights already in the flow). */
export interface Resumed {
  readonly state: TrainerState;
  readonly optimizer: TensorMap;
}

/**
 * Reads the checkpoint in `dir` into `flow.params` and returns the trainer's state from it;
 * refuses another flow spec, or `seed` / `batchSize` options that contradict the checkpoint.
 */
export async function loadResume(io: CheckpointIO, dir: string, flow: Flow, options: { seed?: number; batchSize?: number }): Promise<Resumed> {
  const saved = await io.load(dir);
  if (JSON.stringify(saved.flow.spec) !== JSON.stringify(flow.spec)) {
    throw new Error(`resume: checkpoint ${dir} holds a different flow spec than the flow being trained`);
  }
  const state = checkTrainerState((saved.meta as { training?: unknown }).training, dir);
  for (const [k, v] of [['seed', options.seed], ['batchSize', options.batchSize]] as const) {
    if (v !== undefined && v !== state[k]) throw new Error(`resume: the checkpoint was trained with ${k} ${state[k]}, options.${k} is ${v}`);
  }
  for (const [name, p] of Object.entries(saved.flow.params)) flow.params[name]!.data.set(p.data);
  return { state: { ...state }, optimizer: saved.optimizer };
}

/** The flow's trainable parameter names (what the loss program differentiates). */
export function trainableParams(flow: Flow): string[] {
  return Object.keys(flow.params).filter((n) => flow.paramDecls[n]?.trainable !== false);
}

interface Snapshot {
  step: number;
  params: Record<string, Float32Array>;
  adam: AdamState;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * The training loop every engine shares. Each step: the step's inputs, loss and gradients
 * from the engine's program, the global gradient norm (float64), then — only if loss and norm
 * are finite — a clipped Adam update (on the host) at the scheduled learning rate. A
 * non-finite step is rejected and leaves the weights as they were; after
 * `maxConsecutiveFailures` in a row the weights and optimizer state roll back to the last good
 * snapshot and the learning rate is multiplied by `lrBackoff`; after `maxRollbacks` the run
 * ends with a {@link TrainingDivergedError}, the flow holding the last good parameters.
 */
export async function runLoop(problem: TrainingProblem, settings: LoopSettings, state: TrainerState, resumed?: TensorMap): Promise<LoopResult> {
  const { flow, program } = problem;
  const names = trainableParams(flow);
  const adam = new Adam(Object.fromEntries(names.map((n) => [n, flow.params[n]!.data.length])), settings.adam);
  if (resumed) adam.restore(optimizerState(resumed, state.adamT, names));
  const params: Record<string, Float32Array> = Object.fromEntries(Object.entries(flow.params).map(([n, p]) => [n, p.data]));
  const feed: Record<string, Float32Array> = { ...problem.fixed, ...params };
  const report = async (p: TrainProgress) => {
    await settings.onStep?.(p);
  };
  const recent: number[] = [];
  const { schedule, clipGradNorm: clip, totalSteps } = settings;

  const takeSnapshot = (): Snapshot => ({ step: state.step, params: Object.fromEntries(Object.entries(params).map(([n, a]) => [n, a.slice()])), adam: adam.state() });
  const restoreParams = (s: Snapshot) => {
    for (const [n, a] of Object.entries(s.params)) params[n]!.set(a);
  };
  const saveCheckpoint = async () => {
    const c = settings.checkpoint!;
    const s = adam.state();
    state.adamT = s.t;
    const optimizer: TensorMap = {};
    for (const name of names) {
      const shape = flow.params[name]!.shape;
      optimizer[`adam.m.${name}`] = { data: s.m[name]!, shape };
      optimizer[`adam.v.${name}`] = { data: s.v[name]!, shape };
    }
    const meta = { training: { ...state, engine: program.engine, lastLoss: recent.length ? mean(recent) : null, totalSteps } };
    await c.io.save(c.dir, flow, meta, optimizer);
    await report({ kind: 'checkpoint', step: state.step, dir: c.dir });
  };

  let snapshot = takeSnapshot();
  let consecutive = 0;
  let stopped = false;
  const rollBack = async (step: number, reason: string, what: string, lr: number) => {
    restoreParams(snapshot);
    if (state.rollbacks >= settings.maxRollbacks) {
      throw new TrainingDivergedError(`train: ${what} after ${state.rollbacks} rollbacks (learning rate now ${lr}); the flow keeps the last good parameters, from step ${snapshot.step}`);
    }
    adam.restore(snapshot.adam);
    state.lrScale *= settings.lrBackoff;
    state.rollbacks += 1;
    await report({ kind: 'rollback', step, toStep: snapshot.step, lr: learningRate(schedule, state.step) * state.lrScale, rollbacks: state.rollbacks, reason });
  };

  const started = performance.now();
  while (state.step < totalSteps) {
    if (settings.signal?.aborted) {
      stopped = true;
      break;
    }
    const step = state.step;
    const lr = learningRate(schedule, step) * state.lrScale;
    const t0 = performance.now();
    const { loss, grads } = await program.run(problem.batch(step), feed);
    let sq = 0;
    for (const n of names) {
      const g = grads[n];
      if (!g) throw new Error(`train: the ${program.engine} gradient program returned no gradient for parameter '${n}'`);
      for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
    }
    const norm = Math.sqrt(sq);
    state.step += 1;
    if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
      state.rejected += 1;
      consecutive += 1;
      const reason = !Number.isFinite(loss) ? `loss is ${loss}` : `gradient norm is ${norm}`;
      await report({ kind: 'rejected', step, loss, gradNorm: norm, consecutive, reason });
      if (consecutive >= settings.maxConsecutiveFailures) {
        await rollBack(step, `${settings.maxConsecutiveFailures} consecutive non-finite steps (${reason})`, `${consecutive} consecutive non-finite steps`, lr);
        consecutive = 0;
      }
      continue;
    }
    const clipped = clip !== undefined && norm > clip;
    adam.step(params, grads, lr, clipped ? clip / norm : 1);
    state.updates += 1;
    consecutive = 0;
    recent.push(loss);
    if (recent.length > 50) recent.shift();
    const now = performance.now();
    await report({
      kind: 'step',
      step,
      totalSteps,
      epoch: problem.epochOf(step),
      loss,
      metric: problem.metricOf(loss),
      gradNorm: norm,
      clipped,
      lr,
      examplesPerSecond: (problem.examplesPerStep * 1000) / (now - t0),
      elapsedMs: now - started,
    });
    if (settings.evalEvery && problem.evaluate && state.step % settings.evalEvery === 0) {
      const ev = await problem.evaluate();
      // A diverged evaluation is a divergent step: back to the last good snapshot.
      if (!ev.metric) {
        await rollBack(step, `the periodic evaluation's loss is ${ev.loss}`, `a non-finite evaluation loss (${ev.loss})`, lr);
        continue;
      }
      await report({ kind: 'eval', step, loss: ev.loss, metric: ev.metric, examples: ev.examples });
    }
    if (settings.checkpoint && state.step % settings.checkpoint.every === 0 && state.step < totalSteps) {
      await saveCheckpoint();
      snapshot = takeSnapshot();
    } else if (state.updates % settings.snapshotEvery === 0) snapshot = takeSnapshot();
  }
  state.adamT = adam.t;
  if (settings.checkpoint) await saveCheckpoint();
  return { state, recent, stopped };
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
