import type { BenchResults } from '../results.js';
import type { Chart } from './charts.js';
import { machineLines } from './markdown.js';
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

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function htmlTable(t: Table, level = 'h2'): string {
  const numeric = new Set(t.numeric ?? []);
  const td = (v: string, i: number, tag: 'td' | 'th') => {
    const cls = [numeric.has(i) ? 'num' : '', /^WRONG|^error/.test(v) ? 'bad' : ''].filter(Boolean).join(' ');
    return `<${tag}${cls ? ` class="${cls}"` : ''}>${escapeHtml(v)}</${tag}>`;
  };
  return [
    `<${level}>${escapeHtml(t.title)}</${level}>`,
    t.caption ? `<p class="caption">${escapeHtml(t.caption)}</p>` : '',
    '<div class="scroll"><table>',
    `<thead><tr>${t.header.map((h, i) => td(h, i, 'th')).join('')}</tr></thead>`,
    `<tbody>${t.rows.map((r) => `<tr>${r.map((v, i) => td(v, i, 'td')).join('')}</tr>`).join('\n')}</tbody>`,
    '</table></div>',
  ].join('\n');
}

/** SVG markup for inline embedding (the XML prolog, if any, dropped). */
function inlineSvg(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, '');
}

function figure(chart: Chart, svg: string): string {
  return `<figure><div class="scroll">${inlineSvg(svg)}</div><figcaption>${escapeHtml(chart.caption)}</figcaption></figure>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1400px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; } h3 { margin-top: 1.6rem; }
table { border-collapse: collapse; font-size: 12.5px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.bad { color: #b00020; font-weight: 600; }
.caption, figcaption { color: #555; max-width: 70em; } .scroll { overflow-x: auto; }
.note { background: #fff6e0; border-left: 4px solid #e0a000; padding: .4rem .8rem; }
figure { margin: 1rem 0 2rem; }
`;

/** A single self-contained HTML file: inline CSS, inline SVG charts, every table; no scripts, no external requests. */
export function renderHtml(r: BenchResults, charts: readonly Chart[], svgs: ReadonlyMap<string, string>): string {
  const byName = new Map(charts.map((c) => [c.name, c]));
  const fig = (name: string) => {
    const c = byName.get(name);
    const s = svgs.get(name);
    return c && s ? figure(c, s) : '';
  };
  const body: string[] = [];
  body.push(`<h1>Bijective bench: ${escapeHtml(r.options.mode)} run, ${escapeHtml(r.startedAt)}</h1>`);
  body.push(`<p><code>${escapeHtml(r.command)}</code> — ${r.durationS.toFixed(0)} s.</p>`);
  body.push(`<ul>${machineLines(r).map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`);
  const notes = [...new Set(r.engines.filter((e) => e.note).map((e) => e.note!))];
  for (const n of notes) body.push(`<p class="note">† ${escapeHtml(n)} (${escapeHtml(r.engines.filter((e) => e.note === n).map((e) => e.id).join(', '))})</p>`);
  body.push('<h2>Summary</h2>', `<ul>${headline(r).map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`);
  body.push(htmlTable(winnersTable(r), 'h3'), htmlTable(winCountTable(r), 'h3'));
  const issues = problems(r);
  if (issues.length) body.push('<h3>Problems</h3>', `<ul>${issues.map((p) => `<li class="bad">${escapeHtml(p)}</li>`).join('')}</ul>`);
  const skipped = notTimed(r);
  if (skipped.length) body.push('<h3>Not timed</h3>', '<p class="caption">Cells over the per-call budget (the estimate is an upper bound: it extrapolates linearly from a smaller batch, the cold check call, or for train a warm step at the check batch), and train cells of engines that cannot train.</p>', `<ul>${skipped.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>`);
  for (const n of r.notes) body.push(`<p class="note">${escapeHtml(n)}</p>`);
  body.push('<h2>Per preset</h2>');
  for (const t of presetTables(r)) body.push(htmlTable(t, 'h3'), fig(`preset-${t.title}`));
  const tt = trainTable(r);
  if (tt) body.push(htmlTable(tt), fig('train-throughput'));
  const mi = mafIafTable(r);
  if (mi) body.push(htmlTable(mi), fig('maf-vs-iaf'));
  const oh = overheadTable(r);
  if (oh) body.push(htmlTable(oh), fig('overhead-batch1'));
  if (byName.has('gflops')) body.push('<h2>GFLOP/s and the roofline</h2>', fig('gflops'));
  body.push(htmlTable(enginesTable(r)), htmlTable(presetsTable(r)), htmlTable(checksTable(r)), htmlTable(measurementsTable(r)));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bijective bench — ${escapeHtml(r.startedAt)}</title><style>${STYLE}</style></head>
<body>
${body.filter(Boolean).join('\n')}
</body></html>
`;
}
