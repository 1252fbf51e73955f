import { flowFromParams, type Flow, type FlowRuntime, type FlowSpec, type ParamTensor } from '@bijective/core';
import { makeInput, type InputDomain } from './inputs.js';
import type { Task, TimingResult } from './results.js';
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
  /** Each task is run once on this input and checked against the reference before any timing (plain numbers: the job crosses into pages as JSON). */
  checks: (CaseJob & { input: { data: number[]; shape: number[] } })[];
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
  emit(event: HostEvent): void | Promise<void>;
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n').slice(0, 6).join('\n');
  return String(e);
}

async function call(rt: FlowRuntime, task: Task, input: ReturnType<typeof makeInput>): Promise<Float32Array | Float64Array> {
  return task === 'logProb' ? rt.logProb(input) : (await rt.decode(input)).data;
}

/**
 * Runs one engine's job: per preset, build the flow from the shipped weights, create the
 * runtime (timed), run every task once on the check batch (the outputs go back for the
 * comparison with the float64 reference; that first call is the cold-start time), then
 * time every case. A failure ends only what it affects: the preset (runtime creation) or
 * the task (its check call or its timing).
 */
export async function runEngineJob(job: EngineJob, env: HostEnv): Promise<void> {
  for (const p of job.presets) {
    await env.emit({ type: 'preset', preset: p.preset });
    let rt: FlowRuntime;
    try {
      const flow = flowFromParams(p.spec, await env.params(p.preset));
      const t0 = env.clock.now();
      rt = await env.createRuntime(flow, job.engine);
      await env.emit({ type: 'runtime', preset: p.preset, setupMs: env.clock.now() - t0 });
    } catch (e) {
      await env.emit({ type: 'runtime', preset: p.preset, error: errorMessage(e) });
      continue;
    }
    const failed = new Set<Task>();
    /** The last timed batch of each task and its median (first: the cold check call), to predict the next batch's call time. */
    const last = new Map<Task, { batch: number; medianMs: number; cold?: boolean }>();
    try {
      for (const { task, batch, input: given } of p.checks) {
        const input = { data: Float32Array.from(given.data), shape: given.shape };
        try {
          const t0 = env.clock.now();
          const out = await call(rt, task, input);
          const coldMs = env.clock.now() - t0;
          // The cold call also bounds the first timed batch's call time (see the budget below).
          last.set(task, { batch, medianMs: coldMs, cold: true });
          await env.emit({ type: 'check', preset: p.preset, task, batch, output: Array.from(out), coldMs });
        } catch (e) {
          failed.add(task);
          await env.emit({ type: 'check', preset: p.preset, task, batch, error: errorMessage(e) });
        }
      }
      for (const c of p.cases) {
        if (failed.has(c.task)) {
          await env.emit({ type: 'measurement', preset: p.preset, task: c.task, batch: c.batch, error: `not timed: the ${c.task} check call failed` });
          continue;
        }
        const input = makeInput(p.spec.event, c.task, c.batch, p.domain, p.seed);
        // Linear extrapolation from the last batch over-estimates (fixed per-call costs do not
        // grow with the batch): far over budget is skipped outright, near it one trial call decides.
        const prev = last.get(c.task);
        const predictedMs = prev ? (prev.medianMs * c.batch) / prev.batch : 0;
        let overBudget: string | undefined;
        if (predictedMs > 4 * job.maxCallMs) {
          overBudget = `one call would take about ${(predictedMs / 1000).toPrecision(2)} s (from ${prev!.cold ? 'the cold check call at ' : ''}batch ${prev!.batch})`;
        } else if (predictedMs > job.maxCallMs) {
          try {
            const t0 = env.clock.now();
            await call(rt, c.task, input);
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
          const timing = await measure(() => call(rt, c.task, input), job.timing, { clock: env.clock, afterSample: () => env.memory.sample() });
          const peak = await env.memory.end();
          last.set(c.task, { batch: c.batch, medianMs: timing.medianMs });
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
      await rt.dispose().catch(() => undefined);
    }
  }
  await env.emit({ type: 'done' });
}
