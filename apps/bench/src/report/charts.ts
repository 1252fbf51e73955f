import { compile, type TopLevelSpec } from 'vega-lite';
import { View, parse } from 'vega';
import type { BenchResults } from '../results.js';
import { MAF_IAF, correctRows, engineLabel, mafVsIaf, overheads, type TimedRow } from './analysis.js';
import { formatCount, formatGflops, formatMs } from './format.js';

/**
 * The report's charts as vega-lite specs, rendered to SVG in Node (vega's headless
 * renderer: no canvas, no browser). Only correct rows are drawn: a wrong engine has no
 * bar, and the tables say why.
 */

export interface Chart {
  /** File name stem: `<name>.svg`. */
  name: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

const TASK_COLORS = { domain: ['logProb', 'sample', 'train'], range: ['#4c78a8', '#f58518', '#54a24b'] };

function rowValues(r: BenchResults, rows: TimedRow[]) {
  return rows.map((m) => ({
    engine: engineLabel(r, m.engineId),
    preset: m.preset,
    task: m.task,
    batch: m.batch,
    ms: m.timing.medianMs,
    p10: m.timing.p10Ms,
    p90: m.timing.p90Ms,
    label: formatMs(m.timing.medianMs),
    perExampleMs: m.timing.medianMs / m.batch,
    perExampleLabel: formatMs(m.timing.medianMs / m.batch),
    gflops: m.gflops ?? 0,
    gflopsLabel: formatGflops(m.gflops),
  }));
}

/** Bars of median time per call (log scale), the tasks side by side, per engine; one panel per batch size; whiskers p10–p90. */
function presetChart(r: BenchResults, preset: string, rows: TimedRow[]): Chart {
  const engines = [...new Set(rows.map((m) => engineLabel(r, m.engineId)))];
  const tasks = TASK_COLORS.domain.filter((t) => rows.some((m) => m.task === t));
  const x = { field: 'engine', type: 'nominal' as const, title: null, sort: engines, axis: { labelAngle: -40, labelLimit: 180 } };
  // stack: null — a stacked bar starts at 0, which a log scale cannot show.
  const y = { field: 'ms', type: 'quantitative' as const, scale: { type: 'log' as const }, stack: null, title: 'median ms per call (log)' };
  return {
    name: `preset-${preset}`,
    title: `${preset}: ${tasks.join(' vs ')}, per engine and batch size`,
    caption: `Median time per call${tasks.includes('train') ? ' (train: one training step)' : ''} (log scale), whiskers p10–p90, labels give the median. Lower is better. Engines marked † run on a software GPU adapter.`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: `${preset}: time per call`,
      data: { values: rowValues(r, rows) },
      facet: { column: { field: 'batch', type: 'ordinal', title: 'batch size', sort: 'ascending' } },
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: Math.max(160, engines.length * 44),
        height: 220,
        layer: [
          { mark: 'bar', encoding: { x, xOffset: { field: 'task', sort: TASK_COLORS.domain }, y, color: { field: 'task', type: 'nominal', scale: TASK_COLORS, title: 'task' } } },
          {
            mark: { type: 'rule', color: '#333' },
            encoding: { x, xOffset: { field: 'task', sort: TASK_COLORS.domain }, y: { field: 'p10', type: 'quantitative', scale: { type: 'log' } }, y2: { field: 'p90' } },
          },
          {
            mark: { type: 'text', angle: 270, align: 'left', baseline: 'middle', dx: 4, fontSize: 9 },
            encoding: { x, xOffset: { field: 'task', sort: TASK_COLORS.domain }, y: { field: 'p90', type: 'quantitative', scale: { type: 'log' } }, text: { field: 'label' } },
          },
        ],
      },
    },
  };
}

/** Training throughput: examples per second of full training steps, per engine, preset and batch. */
function trainChart(r: BenchResults, rows: TimedRow[]): Chart | undefined {
  const train = rows.filter((m) => m.task === 'train');
  if (train.length === 0) return undefined;
  const values = train.map((m) => ({ engine: engineLabel(r, m.engineId), preset: m.preset, batch: String(m.batch), rate: m.throughput ?? m.batch / (m.timing.medianMs / 1000), label: formatCount(m.throughput) }));
  const engines = [...new Set(values.map((v) => v.engine))];
  const batches = [...new Set(train.map((m) => m.batch))].sort((a, b) => a - b).map(String);
  const x = { field: 'engine', type: 'nominal' as const, title: null, sort: engines, axis: { labelAngle: -40, labelLimit: 180 } };
  const y = { field: 'rate', type: 'quantitative' as const, scale: { type: 'log' as const }, stack: null, title: 'examples/s of training (log)' };
  return {
    name: 'train-throughput',
    title: 'Training throughput per engine',
    caption:
      'Examples per second of training: batch ÷ the median time of one full training step (loss and gradients on the engine, gradient norm and Adam update on the host), log scale. Higher is better. Only engines whose gradients matched the float64 reference are drawn.',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: 'training: examples per second',
      data: { values },
      facet: { column: { field: 'preset', type: 'nominal', title: null, sort: r.presets.map((p) => p.name) } },
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: Math.max(160, engines.length * 44),
        height: 220,
        layer: [
          { mark: 'bar', encoding: { x, xOffset: { field: 'batch', sort: batches }, y, color: { field: 'batch', type: 'ordinal', sort: batches, title: 'batch' } } },
          {
            mark: { type: 'text', angle: 270, align: 'left', baseline: 'middle', dx: 4, fontSize: 9 },
            encoding: { x, xOffset: { field: 'batch', sort: batches }, y: { field: 'rate', type: 'quantitative', scale: { type: 'log' } }, text: { field: 'label' } },
          },
        ],
      },
    },
  };
}

/** Batch-1 call time per engine: the per-call overhead. */
function overheadChart(r: BenchResults): Chart | undefined {
  const rows = overheads(r);
  if (rows.length === 0) return undefined;
  const values = rows.map((o) => ({ engine: engineLabel(r, o.engineId), preset: o.preset, task: o.task, ms: o.batch1Ms, label: formatMs(o.batch1Ms) }));
  const engines = [...new Set(values.map((v) => v.engine))];
  const x = { field: 'engine', type: 'nominal' as const, title: null, sort: engines, axis: { labelAngle: -40, labelLimit: 180 } };
  return {
    name: 'overhead-batch1',
    title: 'Per-call overhead at batch 1',
    caption: 'Median time of one call with a single example (log scale): on small models this is almost all fixed per-call cost (input checks, graph dispatch, kernel launches, data transfer).',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: 'batch 1: time per call',
      data: { values },
      facet: { column: { field: 'preset', type: 'nominal', title: null } },
      spec: {
        width: Math.max(160, engines.length * 40),
        height: 200,
        layer: [
          {
            mark: 'bar',
            encoding: {
              x,
              xOffset: { field: 'task', sort: TASK_COLORS.domain },
              y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, stack: null, title: 'median ms per call (log)' },
              color: { field: 'task', type: 'nominal', scale: TASK_COLORS, title: 'task' },
            },
          },
          {
            mark: { type: 'text', angle: 270, align: 'left', baseline: 'middle', dx: 4, fontSize: 9 },
            encoding: { x, xOffset: { field: 'task', sort: TASK_COLORS.domain }, y: { field: 'ms', type: 'quantitative', scale: { type: 'log' } }, text: { field: 'label' } },
          },
        ],
      },
    },
  };
}

/** MAF vs IAF at D = 784: time per example of each direction, per engine. */
function mafIafChart(r: BenchResults): Chart | undefined {
  const pairs = mafVsIaf(r);
  if (pairs.length === 0) return undefined;
  const values = pairs.flatMap((p) =>
    (['maf', 'iaf'] as const).flatMap((fam) =>
      (['logProb', 'sample'] as const).flatMap((task) => {
        const ms = p[fam][task];
        return ms === undefined ? [] : [{ engine: engineLabel(r, p.engineId), batch: p.batch, model: MAF_IAF[fam], task, ms: ms / p.batch, label: formatMs(ms / p.batch) }];
      }),
    ),
  );
  const largest = Math.max(...values.map((v) => v.batch));
  const atLargest = values.filter((v) => v.batch === largest);
  const x = { field: 'model', type: 'nominal' as const, title: null, sort: [MAF_IAF.maf, MAF_IAF.iaf] };
  return {
    name: 'maf-vs-iaf',
    title: `MAF vs IAF at D = 784 (batch ${largest})`,
    caption:
      'Time per example (log scale) of density (logProb) and sampling. MAF evaluates the density in one pass and samples one dimension at a time (784 sequential passes); IAF is the reverse.',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: `MAF vs IAF, D = 784, batch ${largest}: time per example`,
      data: { values: atLargest },
      facet: { column: { field: 'engine', type: 'nominal', title: null } },
      spec: {
        width: 120,
        height: 220,
        layer: [
          {
            mark: 'bar',
            encoding: {
              x,
              xOffset: { field: 'task', sort: TASK_COLORS.domain },
              y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, stack: null, title: 'ms per example (log)' },
              color: { field: 'task', type: 'nominal', scale: TASK_COLORS, title: 'task' },
            },
          },
          {
            mark: { type: 'text', angle: 270, align: 'left', baseline: 'middle', dx: 4, fontSize: 9 },
            encoding: { x, xOffset: { field: 'task', sort: TASK_COLORS.domain }, y: { field: 'ms', type: 'quantitative', scale: { type: 'log' } }, text: { field: 'label' } },
          },
        ],
      },
    },
  };
}

/** Achieved GFLOP/s against batch size per engine, with the measured GEMM peak as a rule. */
function gflopsChart(r: BenchResults, rows: TimedRow[]): Chart | undefined {
  const values = rowValues(r, rows).filter((v) => v.gflops > 0);
  if (values.length === 0) return undefined;
  const peak = 'gflops' in r.gemm ? r.gemm.gflops : undefined;
  return {
    name: 'gflops',
    title: 'Achieved GFLOP/s vs batch size',
    caption: `GFLOP/s from core's countFlops (density graph for logProb, sample graph for sample, the loss's gradient graph for train), log-log.${peak ? ` The dashed line is the fp32 GEMM peak measured on ort-node-cpu in this run (${formatGflops(peak)} GFLOP/s).` : ''}`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: 'GFLOP/s vs batch',
      data: { values },
      facet: { row: { field: 'task', type: 'nominal', title: null }, column: { field: 'preset', type: 'nominal', title: null } },
      spec: {
        width: 200,
        height: 160,
        layer: [
          {
            mark: { type: 'line', point: true },
            encoding: {
              x: { field: 'batch', type: 'quantitative', scale: { type: 'log' }, title: 'batch size' },
              y: { field: 'gflops', type: 'quantitative', scale: { type: 'log' }, title: 'GFLOP/s (log)' },
              color: { field: 'engine', type: 'nominal', title: 'engine' },
            },
          },
          ...(peak ? [{ mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#888' }, encoding: { y: { datum: peak, type: 'quantitative' as const } } }] : []),
        ],
      },
    },
  };
}

/** Every chart the results support, in report order. */
export function buildCharts(r: BenchResults): Chart[] {
  const rows = correctRows(r);
  const charts: Chart[] = [];
  for (const p of r.presets) {
    const pr = rows.filter((m) => m.preset === p.name);
    if (pr.length) charts.push(presetChart(r, p.name, pr));
  }
  const tr = trainChart(r, rows);
  if (tr) charts.push(tr);
  const mi = mafIafChart(r);
  if (mi) charts.push(mi);
  const oh = overheadChart(r);
  if (oh) charts.push(oh);
  const gf = gflopsChart(r, rows);
  if (gf) charts.push(gf);
  return charts;
}

/** Renders a vega-lite spec to a standalone SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
