import type { BenchResults } from '../results.js';
import type { Chart } from './charts.js';
import { formatBytes, formatGflops, formatMs } from './format.js';
import {
  checksTable,
  enginesTable,
  headline,
  mafIafTable,
  trainTable,
  measurementsTable,
  overheadTable,
  presetTables,
  presetsTable,
  notTimed,
  problems,
  winCountTable,
  winnersTable,
  type Table,
} from './tables.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownTable(t: Table, level = '##'): string {
  const numeric = new Set(t.numeric ?? []);
  const lines = [`${level} ${t.title}`, ''];
  if (t.caption) lines.push(t.caption, '');
  lines.push(`| ${t.header.map(cell).join(' | ')} |`);
  lines.push(`|${t.header.map((_, i) => (numeric.has(i) ? '---:' : '---')).join('|')}|`);
  for (const r of t.rows) lines.push(`| ${r.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

/** The machine, the browser and the GEMM peak, as bullet lines. */
export function machineLines(r: BenchResults): string[] {
  const m = r.machine;
  const lines = [
    `CPU: ${m.cpuModel}, ${m.cores} cores; memory ${formatBytes(m.memoryBytes)}; ${m.os} (${m.platform}/${m.arch}); Node ${m.node} (V8 ${m.v8})` +
      (m.loadAverage ? `; load average ${m.loadAverage.start.toFixed(1)} → ${m.loadAverage.end.toFixed(1)}` : ''),
  ];
  if (m.browser) {
    const b = m.browser;
    const gpu = b.webgpu
      ? `WebGPU adapter: ${[b.webgpu.vendor, b.webgpu.architecture, b.webgpu.description].filter(Boolean).join(' / ') || 'unnamed'}${b.webgpu.software ? ' — SOFTWARE (CPU) implementation' : ''}${b.webgpu.isFallbackAdapter ? ', isFallbackAdapter' : ''}`
      : `WebGPU: ${b.webgpuUnavailable ?? 'unavailable'}`;
    lines.push(`Browser: ${b.name} ${b.version} (${b.executable}), ${b.hardwareConcurrency} threads, cross-origin isolated: ${b.crossOriginIsolated ? 'yes' : 'no'}`);
    lines.push(`${gpu}; WebGL: ${b.webgl ?? 'unavailable'}${b.webglSoftware ? ' — SOFTWARE' : ''}`);
  }
  if ('gflops' in r.gemm) {
    const g = r.gemm;
    lines.push(
      `fp32 GEMM peak (${g.engine}, [${g.m}×${g.k}]·[${g.k}×${g.n}]): ${formatGflops(g.gflops)} GFLOP/s` +
        (g.bestMs !== undefined ? ` (fastest of ${g.samples} samples, ${formatMs(g.bestMs)}; median ${formatMs(g.medianMs)} = ${formatGflops(g.medianGflops)} GFLOP/s)` : ` (median ${formatMs(g.medianMs)}, ${g.samples} samples)`) +
        " — the roofline column's 100%",
    );
  } else {
    lines.push(`fp32 GEMM peak: not measured (${r.gemm.skipped}); no roofline column`);
  }
  return lines;
}

export function renderMarkdown(r: BenchResults, charts: readonly Chart[]): string {
  const out: string[] = [];
  out.push(`# Bijective bench: ${r.options.mode} run, ${r.startedAt}`, '');
  out.push(`\`${r.command}\` — ${r.durationS.toFixed(0)} s. Presets: ${r.options.presets.join(', ')}; batch sizes ${r.options.batches.join(', ')}; tasks ${r.options.tasks.join(', ')}.`, '');
  out.push(...machineLines(r).map((l) => `- ${l}`), '');
  const notes = r.engines.filter((e) => e.note);
  if (notes.length) {
    out.push(...[...new Set(notes.map((e) => e.note))].map((n) => `† ${n} (${notes.filter((e) => e.note === n).map((e) => e.id).join(', ')})`), '');
  }
  out.push('## Summary', '', ...headline(r).map((l) => `- ${l}`), '');
  out.push(markdownTable(winnersTable(r)), '');
  out.push(markdownTable(winCountTable(r), '###'), '');
  const issues = problems(r);
  if (issues.length) out.push('### Problems', '', ...issues.map((p) => `- ${p}`), '');
  const skipped = notTimed(r);
  if (skipped.length) out.push('### Not timed', '', 'Cells over the per-call budget (the estimate is an upper bound: it extrapolates linearly from a smaller batch, the cold check call, or for train a warm step at the check batch), and train cells of engines that cannot train.', '', ...skipped.map((p) => `- ${p}`), '');
  for (const n of r.notes) out.push(`> ${n}`, '');
  out.push('## Per preset', '');
  const byName = new Map(charts.map((c) => [c.name, c]));
  for (const t of presetTables(r)) {
    out.push(markdownTable(t, '###'), '');
    const chart = byName.get(`preset-${t.title}`);
    if (chart) out.push(`![${chart.title}](${chart.name}.svg)`, '');
  }
  const tt = trainTable(r);
  if (tt) {
    out.push(markdownTable(tt), '');
    if (byName.has('train-throughput')) out.push(`![training throughput](train-throughput.svg)`, '');
  }
  const mi = mafIafTable(r);
  if (mi) {
    out.push(markdownTable(mi), '');
    if (byName.has('maf-vs-iaf')) out.push(`![MAF vs IAF](maf-vs-iaf.svg)`, '');
  }
  const oh = overheadTable(r);
  if (oh) {
    out.push(markdownTable(oh), '');
    if (byName.has('overhead-batch1')) out.push(`![per-call overhead](overhead-batch1.svg)`, '');
  }
  if (byName.has('gflops')) out.push('## GFLOP/s and the roofline', '', byName.get('gflops')!.caption, '', '![GFLOP/s](gflops.svg)', '');
  out.push(markdownTable(enginesTable(r)), '');
  out.push(markdownTable(presetsTable(r)), '');
  out.push(markdownTable(checksTable(r)), '');
  out.push(markdownTable(measurementsTable(r)), '');
  out.push(
    '## Method',
    '',
    `Every engine gets the same float32 weights and the same seeded inputs. Before timing, each engine's logProb and sample outputs on a batch of ${r.options.checkBatch} examples (fewer for graphs above 4 GFLOP per example; the checks table gives each batch) are compared with core's float64 reference interpreter; a mismatch marks the engine's rows WRONG and they never win. ` +
      'Each cell is warmed up, then timed in samples of consecutive calls (enough calls that a sample is well above timer resolution) until the median is known to the target precision (95% distribution-free confidence interval) after a minimum time and sample count, or a time cap is reached. ' +
      '"sample" times decode(z) from pre-drawn base noise (the noise is drawn by core for every engine alike). ' +
      (r.options.tasks.includes('train')
        ? '"train" times one full training step on a fixed batch of data: core\'s loss graph (densityLossGraph, −mean log p(x)) compiled by the engine\'s GradientEngine for every trainable parameter, its loss and gradients, then the gradient norm and an Adam update on the host (the body of core\'s training loop); before timing, the engine\'s loss and gradients on the check batch are compared with core\'s float64 reference gradients (each entry within 1e-4 of the largest reference gradient plus 1e-3 of its own size; the loss within the logProb tolerance). Engines whose status says they cannot train are listed as not timed. '
        : '') +
      'Each Node engine runs in its own process; each browser engine in its own Chromium context. Full numbers, every sample included, are in results.json.',
    '',
  );
  return out.join('\n');
}
