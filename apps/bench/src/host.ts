import {
  Adam,
  LOSS_OUTPUTS,
  densityLossGraph,
  flowFromParams,
  trainableParams,
  type Flow,
  type FlowRuntime,
  type FlowSpec,
  type GradientEngine,
  type GradientProgram,
  type ParamTensor,
  type Tensor,
} from '@bijective/core';
import { makeInput, type InputDomain } from './inputs.js';
import { isInferenceTask, type InferenceTask, type Task, type TimingResult } from './results.js';
import { measure, type Clock, type TimingOptions } from './timing.js';

/**
 * What a host (a Node worker process, a Chromium page) is asked to run for one engine, and
 * what it reports back. Browser-safe: no Node imports here.
 */

export interface CaseJob {
  task: Task;
  batch: number;
}

export interface PresetJob {
  preset: string;
  spec: FlowSpec;
  domain: InputDomain;
  /** Base seed of the inputs (see `inputSeed`). */
  seed: number;
  /**
   * Each task is run once on this input and checked against the reference before any timing
   * (plain numbers: the job crosses into pages as JSON). train: `wrt` is the order in which
   * the gradients go back, after the loss.
   */
  checks: (CaseJob & { input: { data: number[]; shape: number[] }; wrt?: string[] })[];
  cases: CaseJob[];
}

export interface EngineJob {
  engine: string;
  presets: PresetJob[];
  timing: TimingOptions;
  /** A case whose call is predicted (from a smaller batch of the same task) to take longer than this is skipped. */
  maxCallMs: number;
}

export type HostEvent =
  | { type: 'preset'; preset: string }
  | { type: 'runtime'; preset: string; setupMs?: number; error?: string }
  | { type: 'check'; preset: string; task: Task; batch: number; output?: number[]; coldMs?: number; error?: string }
  | {
      type: 'measurement';
      preset: string;
      task: Task;
      batch: number;
      timing?: TimingResult;
      memory?: { peakBytes: number; kind: string };
      error?: string;
      /** Not attempted: `error` says why. */
      skipped?: boolean;
    }
  | { type: 'done' };

/** Peak-memory probe of a host: `begin` before a cell, `sample` after every timed sample, `end` after the cell. */
export interface MemoryProbe {
  readonly kind: string;
  begin(): void;
  sample(): void;
  end(): Promise<number | undefined>;
}

export interface HostEnv {
  clock: Clock;
  memory: MemoryProbe;
  /** The float32 weights of `preset`, exactly as every other engine gets them. */
  params(preset: string): Promise<Record<string, ParamTensor>>;
  createRuntime(flow: Flow, engine: string): Promise<FlowRuntime>;
  /** The engine's gradients (core's registry: what `bijective train` drives); only called when the job has the train task. */
  openGradients(engine: string): Promise<GradientEngine>;
  emit(event: HostEvent): void | Promise<void>;
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n').slice(0, 6).join('\n');
  return String(e);
}

async function call(rt: FlowRuntime, task: InferenceTask, input: Tensor): Promise<Float32Array | Float64Array> {
  return task === 'logProb' ? rt.logProb(input) : (await rt.decode(input)).data;
}

/** The learning rate of the timed steps: core's trainer's default (it changes no step's cost). */
export const TRAIN_LR = 1e-3;

/**
 * One engine's training of one preset, as core's trainer sets it up (`trainFlow`): the loss
 * graph `densityLossGraph(flow)` compiled by the engine's GradientEngine with respect to the
 * flow's trainable parameters, and Adam on the host over a copy of the weights (the runtime's
 * own weights stay as they are).
 */
class Training {
  private program?: GradientProgram;
  private readonly names: string[];
  private readonly params: Record<string, Float32Array>;
  private readonly adam: Adam;

  constructor(
    private readonly engine: GradientEngine,
    private readonly flow: Flow,
  ) {
    this.names = trainableParams(flow);
    this.params = Object.fromEntries(Object.entries(flow.params).map(([n, p]) => [n, p.data.slice()]));
    this.adam = new Adam(Object.fromEntries(this.names.map((n) => [n, flow.params[n]!.data.length])));
  }

  private async compiled(): Promise<GradientProgram> {
    return (this.program ??= await this.engine.compile(densityLossGraph(this.flow), { loss: LOSS_OUTPUTS.loss, wrt: this.names, meanOverBatch: true }));
  }

  /**
   * The check: loss and gradients at the current weights, no update — `[loss, ...d loss / dθ]`
   * with the gradients in `order`. The first call compiles (its time is the cold call's).
   */
  async gradients(x: Tensor, order: readonly string[]): Promise<number[]> {
    const { loss, grads } = await (await this.compiled()).run({ x }, this.params);
    const out = [loss];
    for (const n of order) {
      const g = grads[n];
      if (!g) throw new Error(`the ${this.engine.engine} gradient program returned no gradient for parameter '${n}'`);
      for (let i = 0; i < g.length; i++) out.push(g[i]!);
    }
    return out;
  }

  /**
   * One training step, the body of core's `runLoop`: loss and gradients on the engine, the
   * global gradient norm (float64), and — when loss and norm are finite — the Adam update of
   * the weights in place (a non-finite step is rejected, as the trainer does).
   */
  async step(x: Tensor): Promise<void> {
    const { loss, grads } = await (await this.compiled()).run({ x }, this.params);
    let sq = 0;
    for (const n of this.names) {
      const g = grads[n];
      if (!g) throw new Error(`the ${this.engine.engine} gradient program returned no gradient for parameter '${n}'`);
      for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
    }
    if (Number.isFinite(loss) && Number.isFinite(Math.sqrt(sq))) this.adam.step(this.params, grads, TRAIN_LR);
  }

  async dispose(): Promise<void> {
    await this.program?.dispose();
  }
}

/**
 * Runs one engine's job: per preset, build the flow from the shipped weights, create the
 * runtime (timed; for train, open the engine's gradients), run every task once on the check
 * batch (the outputs go back for the comparison with the float64 reference; that first call
 * is the cold-start time — for train it compiles the loss program), then time every case. A
 * failure ends only what it affects: the preset (runtime creation) or the task (its check
 * call or its timing).
 */
export async function runEngineJob(job: EngineJob, env: HostEnv): Promise<void> {
  for (const p of job.presets) {
    await env.emit({ type: 'preset', preset: p.preset });
    const tasks = new Set([...p.checks.map((c) => c.task), ...p.cases.map((c) => c.task)]);
    let rt: FlowRuntime | undefined;
    let training: Training | undefined;
    try {
      const flow = flowFromParams(p.spec, await env.params(p.preset));
      const t0 = env.clock.now();
      if ([...tasks].some(isInferenceTask)) rt = await env.createRuntime(flow, job.engine);
      if (tasks.has('train')) training = new Training(await env.openGradients(job.engine), flow);
      await env.emit({ type: 'runtime', preset: p.preset, setupMs: env.clock.now() - t0 });
    } catch (e) {
      await rt?.dispose().catch(() => undefined);
      await env.emit({ type: 'runtime', preset: p.preset, error: errorMessage(e) });
      continue;
    }
    /** One call of a task: the runtime's, or a training step (the check: its gradients, no update). */
    const run = (task: Task, input: Tensor): Promise<unknown> => (task === 'train' ? training!.step(input) : call(rt!, task, input));
    /** Tasks not to time, and why. */
    const failed = new Map<Task, string>();
    /** The last timed batch of each task and its median (first: the cold check call; for train, a warm step after it), to predict the next batch's call time. */
    const last = new Map<Task, { batch: number; medianMs: number; from: string }>();
    try {
      for (const { task, batch, input: given, wrt } of p.checks) {
        const input = { data: Float32Array.from(given.data), shape: given.shape };
        try {
          const t0 = env.clock.now();
          const out = task === 'train' ? await training!.gradients(input, wrt ?? []) : await call(rt!, task, input);
          const coldMs = env.clock.now() - t0;
          // The cold call also bounds the first timed batch's call time (see the budget below).
          last.set(task, { batch, medianMs: coldMs, from: `the cold check call at batch ${batch}` });
          await env.emit({ type: 'check', preset: p.preset, task, batch, output: Array.from(out), coldMs });
        } catch (e) {
          failed.set(task, `not timed: the ${task} check call failed`);
          await env.emit({ type: 'check', preset: p.preset, task, batch, error: errorMessage(e) });
          continue;
        }
        if (task === 'train') {
          // The cold train call compiles the loss program (ORT: export and session; tfjs and
          // the GPU engines: the backward kernels and shaders), far above a step's time: one
          // warm step at the check batch predicts the timed batches instead.
          try {
            const t1 = env.clock.now();
            await training!.step(input);
            last.set(task, { batch, medianMs: env.clock.now() - t1, from: `a warm step at batch ${batch}` });
          } catch (e) {
            failed.set(task, `not timed: the first training step (after the check) failed: ${errorMessage(e)}`);
          }
        }
      }
      for (const c of p.cases) {
        const why = failed.get(c.task);
        if (why !== undefined) {
          await env.emit({ type: 'measurement', preset: p.preset, task: c.task, batch: c.batch, error: why });
          continue;
        }
        const input = makeInput(p.spec.event, c.task, c.batch, p.domain, p.seed);
        // Linear extrapolation from the last batch over-estimates (fixed per-call costs do not
        // grow with the batch): far over budget is skipped outright, near it one trial call decides.
        const prev = last.get(c.task);
        const predictedMs = prev ? (prev.medianMs * c.batch) / prev.batch : 0;
        let overBudget: string | undefined;
        if (predictedMs > 4 * job.maxCallMs) {
          overBudget = `one call would take about ${(predictedMs / 1000).toPrecision(2)} s (from ${prev!.from})`;
        } else if (predictedMs > job.maxCallMs) {
          try {
            const t0 = env.clock.now();
            await run(c.task, input);
            const trialMs = env.clock.now() - t0;
            if (trialMs > job.maxCallMs) overBudget = `a trial call took ${(trialMs / 1000).toPrecision(2)} s`;
          } catch (e) {
            await env.emit({ type: 'measurement', preset: p.preset, task: c.task, batch: c.batch, error: errorMessage(e) });
            continue;
          }
        }
        if (overBudget) {
          await env.emit({
            type: 'measurement',
            preset: p.preset,
            task: c.task,
            batch: c.batch,
            skipped: true,
            error: `not timed: ${overBudget}, above the ${job.maxCallMs / 1000} s per-call budget`,
          });
          continue;
        }
        try {
          env.memory.begin();
          const timing = await measure(() => run(c.task, input), job.timing, { clock: env.clock, afterSample: () => env.memory.sample() });
          const peak = await env.memory.end();
          last.set(c.task, { batch: c.batch, medianMs: timing.medianMs, from: `batch ${c.batch}` });
          await env.emit({
            type: 'measurement',
            preset: p.preset,
            task: c.task,
            batch: c.batch,
            timing,
            ...(peak !== undefined ? { memory: { peakBytes: peak, kind: env.memory.kind } } : {}),
          });
        } catch (e) {
          await env.emit({ type: 'measurement', preset: p.preset, task: c.task, batch: c.batch, error: errorMessage(e) });
        }
      }
    } finally {
      await rt?.dispose().catch(() => undefined);
      await training?.dispose().catch(() => undefined);
    }
  }
  await env.emit({ type: 'done' });
}
