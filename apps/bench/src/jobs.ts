import { cellKey } from './collector.js';
import type { EngineJob, PresetJob } from './host.js';
import type { BenchPlan } from './plan.js';
import type { Task } from './results.js';
import type { CheckPlan, Workload } from './workload.js';

/** The work of one engine: the plan's tasks it can run (train only where the engine trains). */
export function jobFor(engine: string, tasks: readonly Task[], plan: BenchPlan, workloads: Workload[], checks: Map<string, CheckPlan>): EngineJob {
  const presets: PresetJob[] = workloads.map((w) => ({
    preset: w.info.name,
    spec: w.flow.spec,
    domain: w.domain,
    seed: plan.seed,
    checks: tasks.map((task) => {
      const c = checks.get(cellKey(w.info.name, task))!;
      return { task, batch: c.batch, input: { data: Array.from(c.input.data), shape: c.input.shape }, ...(c.train ? { wrt: c.train.params.map((p) => p.name) } : {}) };
    }),
    cases: tasks.flatMap((task) => plan.batches.map((batch) => ({ task, batch }))),
  }));
  return { engine, presets, timing: plan.timing, maxCallMs: plan.maxCallMs };
}

/** Why an engine's train cells are not attempted, or undefined when it trains. */
export function cannotTrain(status: { engine: string; trains?: boolean }): string | undefined {
  return status.trains ? undefined : `not timed: ${status.engine} runs flows but cannot train them (its engine status says trains: false)`;
}
