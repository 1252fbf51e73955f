import { writeFileAtomic } from '@bijective/core/node';
import { extname } from 'node:path';

/** Output format by file extension. */
export function outputKind(path: string, command: string): 'png' | 'csv' {
  const ext = extname(path).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.csv') return 'csv';
  throw new Error(`${command}: --out must end in .png or .csv, got '${path}'`);
}

/** Rows of `[n, d]` values as CSV with a header `x0,x1,...` (or `columns`). */
export function toCsv(data: ArrayLike<number>, n: number, d: number, columns?: readonly string[]): string {
  const header = (columns ?? Array.from({ length: d }, (_, i) => `x${i}`)).join(',');
  const lines = [header];
  for (let i = 0; i < n; i++) {
    const row: string[] = [];
    for (let j = 0; j < d; j++) row.push(String(data[i * d + j]));
    lines.push(row.join(','));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Parses CSV points: one point per line, `d` numeric columns; an optional header line (any
 * non-numeric first line) is skipped; blank lines are ignored. Errors name the file and line.
 */
export function parseCsvPoints(text: string, file: string): { data: Float64Array; n: number; d: number } {
  const rows: number[][] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const cells = line.split(',').map((c) => c.trim());
    const values = cells.map(Number);
    if (values.some((v, k) => cells[k] === '' || Number.isNaN(v))) {
      if (rows.length === 0 && i === 0) return; // header
      throw new Error(`${file}:${i + 1}: expected ${rows[0]?.length ?? 'numeric'} comma-separated numbers, got '${line.length > 60 ? `${line.slice(0, 57)}...` : line}'`);
    }
    if (values.some((v) => !Number.isFinite(v))) throw new Error(`${file}:${i + 1}: every value must be finite, got '${line}'`);
    if (rows.length > 0 && values.length !== rows[0]!.length) throw new Error(`${file}:${i + 1}: ${values.length} columns, the first point has ${rows[0]!.length}`);
    rows.push(values);
  });
  if (rows.length === 0) throw new Error(`${file}: no points (expected one point per line, comma-separated)`);
  const d = rows[0]!.length;
  return { data: Float64Array.from(rows.flat()), n: rows.length, d };
}

export async function writeOutput(path: string, data: Uint8Array | string): Promise<void> {
  await writeFileAtomic(path, data);
}
