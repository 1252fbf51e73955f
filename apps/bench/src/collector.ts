import { compareTrain, compareWithReference, toleranceFor } from './check.js';
import type { HostEvent } from './host.js';
import type { BenchPlan } from './plan.js';
import { deriveMetrics } from './report/analysis.js';
import { formatMs } from './report/format.js';
import { engineId, type CheckResult, type Host, type MeasurementResult, type Task } from './results.js';
import { measurementLine, type Log } from './terminal.js';
import { referenceLatent, type CheckPlan, type Workload } from './workload.js';

export const cellKey = (preset: string, task: Task) => `${preset}\u0000${task}`;

/** Collects events of every engine into the results, printing each measured cell. */
export class Collector {
  readonly checks: CheckResult[] = [];
  readonly measurements: MeasurementResult[] = [];
  private done = 0;

  constructor(
    private readonly plan: BenchPlan,
    private readonly workloads: Map<string, Workload>,
    private readonly checkPlans: Map<string, CheckPlan>,
    private readonly gemmGflops: number | undefined,
    private total: number,
    private readonly log: Log,
  ) {}

  /** An engine expected to run turned out unavailable: its cells leave the progress count. */
  dropCells(n: number): void {
    this.total -= n;
  }

  private checkStatus(id: string, preset: string, task: Task): CheckResult['status'] | undefined {
    return this.checks.find((c) => c.engineId === id && c.preset === preset && c.task === task)?.status;
  }

  private add(m: MeasurementResult): void {
    this.measurements.push(m);
    this.done++;
    this.log.line(measurementLine(m, this.done, this.total));
  }

  /**
   * Every cell of `task` on this engine is not attempted (an engine that cannot train):
   * skipped rows with the reason, like cells over the per-call budget.
   */
  skipTask(host: Host, engine: string, task: Task, why: string): void {
    const id = engineId(host, engine);
    for (const w of this.workloads.values()) {
      for (const batch of this.plan.batches) this.add({ engineId: id, engine, host, preset: w.info.name, task, batch, status: 'skipped', error: why });
    }
  }

  /** Every cell of `preset` (or of every preset) this engine has not reported yet becomes an error row. */
  failRemaining(host: Host, engine: string, why: string, preset?: string): void {
    const id = engineId(host, engine);
    for (const w of this.workloads.values()) {
      if (preset !== undefined && w.info.name !== preset) continue;
      for (const task of this.plan.tasks) {
        for (const batch of this.plan.batches) {
          if (this.measurements.some((m) => m.engineId === id && m.preset === w.info.name && m.task === task && m.batch === batch)) continue;
          this.add({ engineId: id, engine, host, preset: w.info.name, task, batch, status: 'error', error: why });
        }
      }
    }
  }

  handle(host: Host, engine: string, e: HostEvent): void {
    const id = engineId(host, engine);
    if (e.type === 'done' || e.type === 'preset') return;
    if (e.type === 'runtime') {
      if (e.error !== undefined) {
        if (e.preset === '*') this.failRemaining(host, engine, e.error);
        else this.failRemaining(host, engine, `runtime could not be created: ${e.error}`, e.preset);
      } else {
        this.log.line(`  ${id}: ${e.preset} runtime ready in ${formatMs(e.setupMs)}`);
      }
      return;
    }
    const w = this.workloads.get(e.preset);
    if (!w) return;
    if (e.type === 'check') {
      const base = { engineId: id, preset: e.preset, task: e.task, batch: e.batch, ...(e.coldMs !== undefined ? { coldMs: e.coldMs } : {}) };
      const p = this.checkPlans.get(cellKey(e.preset, e.task))!;
      const how = { compared: p.compared, tolerance: toleranceFor(e.task, p.mode) };
      let c: CheckResult;
      if (e.error !== undefined || !e.output) c = { ...base, ...how, status: 'error', message: e.error ?? 'no output' };
      else if (p.train) c = compareTrain(base, e.output, p.train, p.compared);
      else if (p.mode === 'direct') c = compareWithReference(base, e.output, p.expected!, how);
      else {
        // The engine's sample x is right iff the reference maps it back to the noise it was given.
        const z = e.output.length === p.input.data.length ? referenceLatent(w, e.output, e.batch) : Float64Array.from(e.output);
        c = compareWithReference(base, z, p.input.data, how);
      }
      this.checks.push(c);
      if (c.status !== 'pass') this.log.line(`  ${id}: ${e.preset} ${e.task} check ${c.status.toUpperCase()}: ${c.message ?? ''}`);
      return;
    }
    const base = { engineId: id, engine, host, preset: e.preset, task: e.task, batch: e.batch };
    if (!e.timing) {
      this.add({ ...base, status: e.skipped ? 'skipped' : 'error', error: e.error ?? 'no timing' });
      return;
    }
    const check = this.checkStatus(id, e.preset, e.task);
    const metrics = deriveMetrics(e.timing.medianMs, e.batch, w.info.flops[e.task]?.flops, this.gemmGflops);
    this.add({
      ...base,
      status: check === 'pass' ? 'ok' : check === 'wrong' ? 'wrong' : 'error',
      ...(check !== 'pass' && check !== 'wrong' ? { error: 'the correctness check could not be made' } : {}),
      timing: e.timing,
      ...metrics,
      ...(e.memory ? { memory: e.memory } : {}),
    });
  }
}

