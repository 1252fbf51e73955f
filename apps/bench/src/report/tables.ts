import type { BenchResults, CheckResult, MeasurementResult } from '../results.js';
import { correctRows, engineLabel, mafVsIaf, overheads, timedRows, winCounts, winners, sortCells, type Win } from './analysis.js';
import { formatBytes, formatCount, formatGflops, formatMs, formatPercent, formatRange, formatRatio } from './format.js';

/**
 * The report's tables as plain rows of strings, shared by report.md and report.html (and
 * the terminal), so every output shows the same numbers.
 */
export interface Table {
  title: string;
  /** What the table shows, in a sentence or two. */
  caption?: string;
  header: string[];
  rows: string[][];
  /** Columns to right-align (numbers). */
  numeric?: number[];
}

const STATUS: Record<MeasurementResult['status'], string> = { ok: 'ok', wrong: 'WRONG', error: 'error', skipped: 'skipped' };

/** The headline: per (preset, task, batch), the fastest correct engine and its margin over the runner-up. */
export function winnersTable(r: BenchResults): Table {
  // Browser apps can only use browser engines: the fastest of those, beside the overall winner.
  const inBrowser = winners(r, 'chromium');
  const browserCol = inBrowser.length > 0 && timedRows(r).some((m) => m.host === 'node');
  const browserWin = (w: Win) => inBrowser.find((b) => b.preset === w.preset && b.task === w.task && b.batch === w.batch);
  const rows = winners(r).map((w) => [
    w.preset,
    w.task,
    String(w.batch),
    engineLabel(r, w.winner.engineId),
    formatMs(w.winner.timing.medianMs),
    formatCount(w.winner.throughput),
    w.runnerUp ? engineLabel(r, w.runnerUp.engineId) : '–',
    w.runnerUp ? formatMs(w.runnerUp.timing.medianMs) : '–',
    w.tied ? `${formatRatio(w.margin)} ~` : formatRatio(w.margin),
    formatRatio(w.spread),
    w.fasterButWrong.map((m) => engineLabel(r, m.engineId)).join(', '),
    ...(browserCol
      ? (() => {
          const b = browserWin(w);
          return b ? [engineLabel(r, b.winner.engineId), formatMs(b.winner.timing.medianMs)] : ['–', '–'];
        })()
      : []),
  ]);
  return {
    title: 'Which engine wins where',
    caption:
      'Per preset, task and batch size: the fastest engine whose outputs matched the float64 reference, its median time per call, the runner-up, and by how much it wins (runner-up ÷ winner; ~: their 95% confidence intervals overlap, so the order is not established; spread: slowest ÷ fastest). Engines that were faster but WRONG are listed and never win.' +
      (browserCol ? ' The last columns give the fastest engine in Chromium, for code that must run in a browser.' : ''),
    header: ['preset', 'task', 'batch', 'fastest', 'median', 'examples/s', 'runner-up', 'its median', 'margin', 'spread', 'faster but WRONG', ...(browserCol ? ['fastest in Chromium', 'its median'] : [])],
    rows,
    numeric: [2, 4, 5, 7, 8, 9, ...(browserCol ? [12] : [])],
  };
}

export function winCountTable(r: BenchResults): Table {
  const wins = winners(r);
  return {
    title: 'Wins per engine',
    header: ['engine', 'fastest in', 'of cells it ran correctly'],
    rows: winCounts(r, wins).map((w) => [engineLabel(r, w.engineId), String(w.wins), String(w.cells)]),
    numeric: [1, 2],
  };
}

/** One table per preset: engines down, task × batch across, median time per call. */
export function presetTables(r: BenchResults): Table[] {
  const out: Table[] = [];
  for (const p of r.presets) {
    const rows = r.measurements.filter((m) => m.preset === p.name);
    if (!rows.length) continue;
    const cols = sortCells(r, [...new Map(rows.map((m) => [`${m.task}@${m.batch}`, { preset: m.preset, task: m.task, batch: m.batch }])).values()]);
    const engines = [...new Set(rows.map((m) => m.engineId))];
    out.push({
      title: `${p.name}`,
      caption: `${p.description}. ${p.weights.source === 'checkpoint' ? 'Trained weights (shipped checkpoint).' : 'Seeded initial weights (no shipped checkpoint).'} Median time per call; WRONG: outputs disagree with the reference.`,
      header: ['engine', ...cols.map((c) => `${c.task} @${c.batch}`)],
      rows: engines.map((id) => [
        engineLabel(r, id),
        ...cols.map((c) => {
          const m = rows.find((x) => x.engineId === id && x.task === c.task && x.batch === c.batch);
          if (!m) return '';
          if (!m.timing) return m.status === 'skipped' ? 'skipped' : 'error';
          return m.status === 'wrong' ? `WRONG ${formatMs(m.timing.medianMs)}` : formatMs(m.timing.medianMs);
        }),
      ]),
      numeric: cols.map((_, i) => i + 1),
    });
  }
  return out;
}

/** The train task: every engine's training throughput per preset and batch, fastest first, with its gradient check. */
export function trainTable(r: BenchResults): Table | undefined {
  const rows = r.measurements.filter((m) => m.task === 'train');
  if (!rows.length) return undefined;
  const rank = (m: MeasurementResult) => (m.timing && m.status === 'ok' ? m.timing.medianMs : m.timing ? 1e15 + m.timing.medianMs : Infinity);
  const presetOrder = new Map(r.presets.map((p, i) => [p.name, i]));
  const sorted = [...rows].sort((a, b) => (presetOrder.get(a.preset) ?? 99) - (presetOrder.get(b.preset) ?? 99) || a.batch - b.batch || rank(a) - rank(b));
  const check = (m: MeasurementResult) => {
    const c = r.checks.find((x) => x.engineId === m.engineId && x.preset === m.preset && x.task === 'train');
    if (!c) return '–';
    return c.status === 'pass' ? `pass (max |err| ${c.maxAbsError?.toExponential(1) ?? '–'})` : `${c.status === 'wrong' ? 'WRONG' : 'error'}: ${c.message ?? ''}`;
  };
  return {
    title: 'Training steps',
    caption:
      'One full training step as `bijective train` runs it: the loss −mean log p(x) and its gradients with respect to every trainable parameter on the engine (core\'s densityLossGraph compiled by the engine\'s GradientEngine), then the gradient norm and the Adam update on the host. examples/s = batch ÷ median step time. The gradient check compares the engine\'s loss and gradients on a small batch with the float64 reference; WRONG rows never win.',
    header: ['preset', 'batch', 'engine', 'step median', 'p10–p90', 'examples/s', 'gradient check', 'status'],
    rows: sorted.map((m) => [
      m.preset,
      String(m.batch),
      engineLabel(r, m.engineId),
      formatMs(m.timing?.medianMs),
      m.timing ? formatRange(m.timing.p10Ms, m.timing.p90Ms) : '–',
      formatCount(m.throughput),
      check(m),
      m.error ? `${STATUS[m.status]}: ${m.error}` : STATUS[m.status],
    ]),
    numeric: [1, 3, 4, 5],
  };
}

export function mafIafTable(r: BenchResults): Table | undefined {
  const pairs = mafVsIaf(r);
  if (!pairs.length) return undefined;
  const ms = (v: number | undefined, b: number) => (v === undefined ? '–' : formatMs(v / b));
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? formatRatio(a / b) : '–');
  return {
    title: 'MAF vs IAF at D = 784',
    caption: 'Time per example. MAF: one pass for density, 784 sequential passes to sample; IAF the reverse. "sample ÷ logProb" shows the asymmetry.',
    header: ['engine', 'batch', 'maf-784 logProb', 'maf-784 sample', 'maf sample ÷ logProb', 'iaf-784 logProb', 'iaf-784 sample', 'iaf logProb ÷ sample'],
    rows: pairs.map((p) => [
      engineLabel(r, p.engineId),
      String(p.batch),
      ms(p.maf.logProb, p.batch),
      ms(p.maf.sample, p.batch),
      ratio(p.maf.sample, p.maf.logProb),
      ms(p.iaf.logProb, p.batch),
      ms(p.iaf.sample, p.batch),
      ratio(p.iaf.logProb, p.iaf.sample),
    ]),
    numeric: [1, 2, 3, 4, 5, 6, 7],
  };
}

export function overheadTable(r: BenchResults): Table | undefined {
  const rows = overheads(r);
  if (!rows.length) return undefined;
  return {
    title: 'Per-call overhead at batch 1',
    caption:
      'Median time of a batch-1 call against the per-example time at the largest batch measured. Overhead share = 1 − per-example ÷ batch-1 time: near 100% means a single call is almost all fixed cost (dispatch, checks, transfers).',
    header: ['engine', 'preset', 'task', 'batch 1', 'largest batch', 'per example there', 'overhead share'],
    rows: rows.map((o) => [
      engineLabel(r, o.engineId),
      o.preset,
      o.task,
      formatMs(o.batch1Ms),
      o.largeBatch !== undefined ? String(o.largeBatch) : '–',
      formatMs(o.perExampleMs),
      formatPercent(o.overheadShare),
    ]),
    numeric: [3, 4, 5, 6],
  };
}

export function enginesTable(r: BenchResults): Table {
  return {
    title: 'Engines',
    caption: 'Every engine the bench knows, in Node and in Chromium; skipped ones say why (from the backends’ listEngines()).',
    header: ['engine', 'status', 'what runs / why not', 'versions', 'memory column measures'],
    rows: r.engines.map((e) => [
      engineLabel(r, e.id),
      e.status,
      [e.status === 'ran' ? e.detail : e.reason, e.install ? `install: ${e.install}` : undefined, e.note].filter(Boolean).join('; '),
      Object.entries(e.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
      e.memoryKind ?? '',
    ]),
  };
}

export function presetsTable(r: BenchResults): Table {
  const train = r.presets.some((p) => p.flops.train !== undefined);
  return {
    title: 'Presets',
    header: ['preset', 'event', 'parameters', 'weights', 'x for logProb', 'MFLOP/example logProb', 'MFLOP/example sample', ...(train ? ['MFLOP/example train step'] : [])],
    rows: r.presets.map((p) => [
      p.name,
      `[${p.event.join(', ')}]`,
      formatCount(p.params),
      p.weights.source === 'checkpoint' ? `trained (${p.weights.path})` : `seeded initial (seed ${p.weights.seed}): ${p.weights.why}`,
      p.inputs === 'unit' ? 'uniform [0, 1)' : 'standard normal',
      (p.flops.logProb.flops / 1e6).toPrecision(3),
      (p.flops.sample.flops / 1e6).toPrecision(3),
      ...(train ? [p.flops.train ? (p.flops.train.flops / 1e6).toPrecision(3) : '–'] : []),
    ]),
    numeric: [2, 5, 6, ...(train ? [7] : [])],
  };
}

function checkDetail(c: CheckResult): string {
  if (c.status === 'pass') return `max |err| ${c.maxAbsError?.toExponential(2) ?? '–'}, max rel ${c.maxRelError?.toExponential(2) ?? '–'}`;
  return c.message ?? '';
}

export function checksTable(r: BenchResults): Table {
  return {
    title: 'Correctness against the float64 reference',
    caption: 'Each engine’s outputs on a small batch of the same inputs, against core’s float64 interpreter, with the conformance suite’s float32 tolerance (|a − ref| ≤ atol + rtol·|ref|). Cold: the first call (compilation and set-up included).',
    header: ['engine', 'preset', 'task', 'batch', 'result', 'detail', 'tolerance', 'cold call'],
    rows: sortCells(r, r.checks).map((c) => [
      engineLabel(r, c.engineId),
      c.preset,
      c.task,
      String(c.batch),
      c.status === 'pass' ? 'pass' : c.status === 'wrong' ? 'WRONG' : 'error',
      checkDetail(c),
      `rtol ${c.tolerance.rtol}, atol ${c.tolerance.atol}`,
      formatMs(c.coldMs),
    ]),
    numeric: [3, 7],
  };
}

/** Every measurement with every column. */
export function measurementsTable(r: BenchResults): Table {
  const rows = sortCells(r, r.measurements);
  return {
    title: 'All measurements',
    caption:
      'median and p10–p90 of the per-call time; ±CI: half-width of the median’s 95% confidence interval over the median; GFLOP/s from countFlops; roofline: GFLOP/s over the ort-node-cpu GEMM peak; samples × calls per sample; stop: why repetition ended.',
    header: ['engine', 'preset', 'task', 'batch', 'median', 'p10–p90', '±CI', 'examples/s', 'GFLOP/s', 'roofline', 'peak mem', 'samples', 'stop', 'check'],
    rows: rows.map((m) => {
      const t = m.timing;
      return [
        engineLabel(r, m.engineId),
        m.preset,
        m.task,
        String(m.batch),
        formatMs(t?.medianMs),
        t ? formatRange(t.p10Ms, t.p90Ms) : '–',
        t ? formatPercent(t.relHalfWidth) : '–',
        formatCount(m.throughput),
        formatGflops(m.gflops),
        formatPercent(m.roofline),
        formatBytes(m.memory?.peakBytes),
        t ? `${t.samples}×${t.callsPerSample}` : '–',
        t?.stopReason ?? '',
        m.error ? `${STATUS[m.status]}: ${m.error}` : STATUS[m.status],
      ];
    }),
    numeric: [3, 4, 6, 7, 8, 9, 10, 11],
  };
}

/** Checks that failed and cells that errored: the problems list. */
export function problems(r: BenchResults): string[] {
  const out: string[] = [];
  for (const c of r.checks) if (c.status !== 'pass') out.push(`${engineLabel(r, c.engineId)} ${c.preset} ${c.task}: ${c.status === 'wrong' ? 'WRONG' : 'error'}: ${c.message ?? ''}`);
  for (const m of r.measurements) if (m.status === 'error') out.push(`${engineLabel(r, m.engineId)} ${m.preset} ${m.task} @${m.batch}: error: ${m.error ?? ''}`);
  return out;
}

/** Cells not timed on purpose (over the per-call budget, or train on an engine that cannot train), with why. */
export function notTimed(r: BenchResults): string[] {
  return r.measurements.filter((m) => m.status === 'skipped').map((m) => `${engineLabel(r, m.engineId)} ${m.preset} ${m.task} @${m.batch}: ${m.error ?? ''}`);
}

/** `1.2×–3.4×`, or one ratio when they agree. */
function range(ratios: number[]): string {
  const lo = formatRatio(Math.min(...ratios));
  const hi = formatRatio(Math.max(...ratios));
  return lo === hi ? lo : `${lo}–${hi}`;
}

/** A one-paragraph summary of who wins, for the top of the report. */
export function headline(r: BenchResults): string[] {
  const wins = winners(r);
  if (!wins.length) return ['No engine produced a correct timed result.'];
  const counts = winCounts(r, wins);
  const lines = [`${correctRows(r).length} correct timed cells over ${new Set(correctRows(r).map((m) => m.engineId)).size} engines; ${wins.length} (preset, task, batch) cells compared.`];
  const inBrowser = winners(r, 'chromium');
  if (inBrowser.length && timedRows(r).some((m) => m.host === 'node')) {
    const counts = winCounts(r, inBrowser).filter((c) => c.wins > 0 && c.engineId.startsWith('chromium/'));
    lines.push(`In Chromium: ${counts.map((c) => `${engineLabel(r, c.engineId)} fastest in ${c.wins} of ${inBrowser.length}`).join(', ')}.`);
  }
  for (const c of counts.filter((c) => c.wins > 0)) {
    const mine = wins.filter((w) => w.winner.engineId === c.engineId);
    const margins = mine.map((w) => w.margin).filter((m): m is number => m !== undefined);
    const best = mine.reduce((a, b) => ((b.margin ?? 0) > (a.margin ?? 0) ? b : a));
    lines.push(
      `${engineLabel(r, c.engineId)} is fastest in ${c.wins} of ${wins.length} cells` +
        (margins.length
          ? ` (by ${range(margins)} over the runner-up; largest lead: ${best.preset} ${best.task} @${best.batch}, ${formatRatio(best.margin)} ahead of ${best.runnerUp ? engineLabel(r, best.runnerUp.engineId) : '–'})`
          : '') +
        '.',
    );
  }
  return lines;
}

