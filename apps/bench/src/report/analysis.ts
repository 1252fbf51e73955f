import type { BenchResults, EngineResult, Host, MeasurementResult, PresetResult, Task } from '../results.js';

/** Examples/s, GFLOP/s and the roofline fraction of a median call time (no GFLOP/s without a flop count). */
export function deriveMetrics(medianMs: number, batch: number, flopsPerExample: number | undefined, gemmGflops: number | undefined): { throughput: number; gflops?: number; roofline?: number } {
  const seconds = medianMs / 1000;
  if (flopsPerExample === undefined) return { throughput: batch / seconds };
  const gflops = (flopsPerExample * batch) / seconds / 1e9;
  return { throughput: batch / seconds, gflops, ...(gemmGflops ? { roofline: gflops / gemmGflops } : {}) };
}

export type TimedRow = MeasurementResult & { timing: NonNullable<MeasurementResult['timing']> };

/** Rows that ran and have a timing, whatever their check said. */
export function timedRows(r: BenchResults): TimedRow[] {
  return r.measurements.filter((m): m is TimedRow => m.timing !== undefined && m.status !== 'error');
}

/** Rows that may win: timed and correct. */
export function correctRows(r: BenchResults): TimedRow[] {
  return timedRows(r).filter((m) => m.status === 'ok');
}

export interface Win {
  preset: string;
  task: Task;
  batch: number;
  winner: TimedRow;
  runnerUp?: TimedRow;
  /** runnerUp median / winner median. */
  margin?: number;
  /**
   * The winner's and runner-up's 95% median intervals overlap (or, with too few samples for
   * an interval, their sample ranges do): the order between them is not established.
   */
  tied?: boolean;
  /** The slowest correct engine over the winner. */
  spread?: number;
  /** Engines whose outputs were wrong but that were faster than the winner (never counted as winners). */
  fasterButWrong: TimedRow[];
}

/** Whether the faster row's interval reaches the slower row's (95% median CI where both have one, else min–max). */
export function overlaps(fast: TimedRow, slow: TimedRow): boolean {
  const hi = fast.timing.ciHighMs ?? fast.timing.maxMs;
  const lo = slow.timing.ciLowMs ?? slow.timing.minMs;
  return hi >= lo;
}

/** The fastest correct engine of every (preset, task, batch), and by how much; `host` limits the race to one host. */
export function winners(r: BenchResults, host?: Host): Win[] {
  const groups = new Map<string, TimedRow[]>();
  for (const m of timedRows(r)) {
    if (host !== undefined && m.host !== host) continue;
    const k = `${m.preset}\u0000${m.task}\u0000${m.batch}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(m);
  }
  const out: Win[] = [];
  for (const g of groups.values()) {
    const ok = g.filter((m) => m.status === 'ok').sort((a, b) => a.timing.medianMs - b.timing.medianMs);
    const winner = ok[0];
    if (!winner) continue;
    const runnerUp = ok[1];
    const slowest = ok[ok.length - 1]!;
    out.push({
      preset: winner.preset,
      task: winner.task,
      batch: winner.batch,
      winner,
      ...(runnerUp ? { runnerUp, margin: runnerUp.timing.medianMs / winner.timing.medianMs, tied: overlaps(winner, runnerUp) } : {}),
      ...(ok.length > 1 ? { spread: slowest.timing.medianMs / winner.timing.medianMs } : {}),
      fasterButWrong: g.filter((m) => m.status === 'wrong' && m.timing.medianMs < winner.timing.medianMs),
    });
  }
  return sortCells(r, out);
}

/** Presets in run order, then task, then batch. */
export function sortCells<T extends { preset: string; task: Task; batch: number }>(r: BenchResults, rows: T[]): T[] {
  const presetOrder = new Map(r.presets.map((p, i) => [p.name, i]));
  const taskOrder: Record<Task, number> = { logProb: 0, sample: 1, train: 2 };
  return [...rows].sort(
    (a, b) => (presetOrder.get(a.preset) ?? 99) - (presetOrder.get(b.preset) ?? 99) || taskOrder[a.task] - taskOrder[b.task] || a.batch - b.batch,
  );
}

/** How often each engine won, over the cells where it ran correctly. */
export function winCounts(r: BenchResults, wins: Win[]): { engineId: string; wins: number; cells: number }[] {
  const cells = new Map<string, number>();
  for (const m of correctRows(r)) cells.set(m.engineId, (cells.get(m.engineId) ?? 0) + 1);
  const w = new Map<string, number>();
  for (const x of wins) w.set(x.winner.engineId, (w.get(x.winner.engineId) ?? 0) + 1);
  return [...cells.entries()].map(([engineId, n]) => ({ engineId, wins: w.get(engineId) ?? 0, cells: n })).sort((a, b) => b.wins - a.wins || a.engineId.localeCompare(b.engineId));
}

export interface Overhead {
  engineId: string;
  preset: string;
  task: Task;
  /** Median time of one call at batch 1. */
  batch1Ms: number;
  /** The largest batch measured, and its per-example time. */
  largeBatch?: number;
  perExampleMs?: number;
  /** Share of the batch-1 call that is fixed per-call cost: 1 − perExample / batch1 (≈ 1 when a call is all overhead). */
  overheadShare?: number;
}

/**
 * Per-call overhead: the batch-1 time of each engine on each preset and task, against the
 * per-example time at the largest batch (what a call costs once its fixed cost is amortised).
 */
export function overheads(r: BenchResults): Overhead[] {
  const rows = correctRows(r);
  const out: Overhead[] = [];
  for (const one of rows.filter((m) => m.batch === 1)) {
    const large = rows
      .filter((m) => m.engineId === one.engineId && m.preset === one.preset && m.task === one.task && m.batch > 1)
      .sort((a, b) => b.batch - a.batch)[0];
    const perExampleMs = large ? large.timing.medianMs / large.batch : undefined;
    out.push({
      engineId: one.engineId,
      preset: one.preset,
      task: one.task,
      batch1Ms: one.timing.medianMs,
      ...(large && perExampleMs !== undefined ? { largeBatch: large.batch, perExampleMs, overheadShare: Math.max(0, 1 - perExampleMs / one.timing.medianMs) } : {}),
    });
  }
  return sortCells(r, out.map((o) => ({ ...o, batch: 1 })));
}

export interface DirectionPair {
  engineId: string;
  batch: number;
  maf: Partial<Record<Task, number>>;
  iaf: Partial<Record<Task, number>>;
}

export const MAF_IAF = { maf: 'maf-784', iaf: 'iaf-784' } as const;

/** MAF vs IAF at D = 784: each engine's median per task and batch, for the two presets side by side. */
export function mafVsIaf(r: BenchResults): DirectionPair[] {
  const rows = correctRows(r).filter((m) => m.preset === MAF_IAF.maf || m.preset === MAF_IAF.iaf);
  const pairs = new Map<string, DirectionPair>();
  for (const m of rows) {
    const k = `${m.engineId}\u0000${m.batch}`;
    let p = pairs.get(k);
    if (!p) pairs.set(k, (p = { engineId: m.engineId, batch: m.batch, maf: {}, iaf: {} }));
    (m.preset === MAF_IAF.maf ? p.maf : p.iaf)[m.task] = m.timing.medianMs;
  }
  return [...pairs.values()].sort((a, b) => a.engineId.localeCompare(b.engineId) || a.batch - b.batch);
}

export function engineById(r: BenchResults, id: string): EngineResult | undefined {
  return r.engines.find((e) => e.id === id);
}

export function presetByName(r: BenchResults, name: string): PresetResult | undefined {
  return r.presets.find((p) => p.name === name);
}

/** Engines whose rows need a caveat (software WebGPU/WebGL), by id. */
export function engineNotes(r: BenchResults): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of r.engines) if (e.note) m.set(e.id, e.note);
  return m;
}

/** A row's engine label with its caveat marker: `chromium/tfjs-webgpu†`. */
export function engineLabel(r: BenchResults, id: string): string {
  return engineById(r, id)?.note ? `${id}†` : id;
}
