import type { MeasurementResult } from './results.js';
import { formatBytes, formatCount, formatGflops, formatMs, formatPercent, formatRange } from './report/format.js';

/**
 * The live table: one line per measured cell as soon as it is known, with a progress
 * counter, so a long run shows where it is and what it has found.
 */
const COLUMNS: { title: string; width: number; right?: boolean }[] = [
  { title: 'progress', width: 9 },
  { title: 'engine', width: 24 },
  { title: 'preset', width: 17 },
  { title: 'task', width: 7 },
  { title: 'batch', width: 5, right: true },
  { title: 'median', width: 9, right: true },
  { title: 'p10–p90', width: 19, right: true },
  { title: 'ex/s', width: 7, right: true },
  { title: 'GFLOP/s', width: 7, right: true },
  { title: 'roof', width: 5, right: true },
  { title: 'peak mem', width: 10, right: true },
  { title: 'n', width: 8, right: true },
  { title: 'check', width: 6 },
];

function pad(s: string, width: number, right = false): string {
  if (s.length > width) s = `${s.slice(0, width - 1)}…`;
  return right ? s.padStart(width) : s.padEnd(width);
}

export function tableLine(cells: string[]): string {
  return cells.map((c, i) => pad(c, COLUMNS[i]!.width, COLUMNS[i]!.right)).join(' ');
}

export function headerLine(): string {
  return tableLine(COLUMNS.map((c) => c.title));
}

const STATUS: Record<MeasurementResult['status'], string> = { ok: 'ok', wrong: 'WRONG', error: 'error', skipped: 'skip' };

export function measurementLine(m: MeasurementResult, done: number, total: number): string {
  const t = m.timing;
  return tableLine([
    `[${done}/${total}]`,
    m.engineId,
    m.preset,
    m.task,
    String(m.batch),
    formatMs(t?.medianMs),
    t ? formatRange(t.p10Ms, t.p90Ms) : '',
    formatCount(m.throughput),
    formatGflops(m.gflops),
    formatPercent(m.roofline),
    formatBytes(m.memory?.peakBytes),
    t ? `${t.samples}×${t.callsPerSample}` : '',
    STATUS[m.status],
  ]) + ((m.status === 'error' || m.status === 'skipped') && m.error ? `  ${m.error.split('\n')[0]}` : '');
}

export interface Log {
  line(s: string): void;
}

export const consoleLog: Log = { line: (s) => console.log(s) };
export const silentLog: Log = { line: () => undefined };
