import { join } from 'node:path';
import { writeFileAtomic } from '@bijective/core/node';
import type { BenchResults } from '../results.js';
import { buildCharts, renderSvg } from './charts.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';

export interface WrittenReport {
  dir: string;
  files: string[];
}

/** `results.json` as written: Infinity/NaN never reach it (JSON has no such numbers; they become null). */
export function serializeResults(r: BenchResults): string {
  return `${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

/**
 * Writes `results.json`, every chart as SVG, `report.md` and the self-contained
 * `report.html` into `dir`, each atomically (temp file + rename). `results.json` goes
 * first, so a report never exists without its data.
 */
export async function writeReport(r: BenchResults, dir: string): Promise<WrittenReport> {
  const files: string[] = [];
  const put = async (name: string, data: string) => {
    await writeFileAtomic(join(dir, name), data);
    files.push(name);
  };
  await put('results.json', serializeResults(r));
  const charts = buildCharts(r);
  const svgs = new Map<string, string>();
  for (const c of charts) {
    const svg = await renderSvg(c.spec);
    svgs.set(c.name, svg);
    await put(`${c.name}.svg`, svg);
  }
  await put('report.md', renderMarkdown(r, charts));
  await put('report.html', renderHtml(r, charts, svgs));
  return { dir, files };
}
