import { TEMP_SUFFIX, writeFileAtomic } from '@bijective/core/node';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { CliError } from './common.js';

/** Where a command writes and whether it may replace what is there (`--force`). */
export interface OutputTarget {
  command: string;
  /** The flag that named the path (`--out`, `--heatmap`), for messages. */
  flag: string;
  force?: boolean;
}

/** Refuses an empty path (`--out ''` would write into the working folder under a hidden temp name). */
export function checkOutPath(path: string, flag: string, command: string): void {
  if (path.trim() === '') throw new CliError(`${command}: ${flag} must name a file or folder, got ''`);
}

/** Refuses to replace an existing `path` unless `--force`. A symlink counts as existing (it is replaced, never followed). */
export async function refuseExisting(path: string, target: OutputTarget): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) throw new CliError(`${target.command}: ${target.flag} ${path} is a folder; name a file`);
  if (!target.force) throw new CliError(`${target.command}: ${path} already exists; pass --force to replace it, or choose another ${target.flag}`);
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a part of the path is a file, not a folder',
  ENOENT: 'no such folder',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
};

/**
 * A file-system error met while writing `path`, as one CLI line naming `path` (never the
 * hidden temp file of an atomic write) and the reason in words.
 */
export function writeError(e: unknown, path: string, command: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return e;
  return new CliError(`${command}: cannot write ${path} (${REASONS[code] ?? code})`);
}

/** Removes the hidden temp-file names of atomic writes (`.NAME.PID.HEX.tmp` → `NAME`) from a message. */
export function withoutTempNames(message: string): string {
  return message.replace(/\.([^/\s'"]+)\.\d+\.[0-9a-f]{8}\.tmp/g, '$1');
}

/** Output format by file extension. */
export function outputKind(path: string, command: string): 'png' | 'csv' {
  const ext = extname(path).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.csv') return 'csv';
  throw new Error(`${command}: --out must end in .png or .csv, got '${path}'`);
}

/** Rows of `[n, d]` values as CSV with a header `x0,x1,...` (or `columns`). */
export function toCsv(data: ArrayLike<number>, n: number, d: number, columns?: readonly string[]): string {
  return csvHeader(d, columns) + csvRows(data, n, d);
}

export function csvHeader(d: number, columns?: readonly string[]): string {
  return `${(columns ?? Array.from({ length: d }, (_, i) => `x${i}`)).join(',')}\n`;
}

/** Rows of `[n, d]` values as CSV lines, each ending in a newline. */
export function csvRows(data: ArrayLike<number>, n: number, d: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const row: string[] = [];
    for (let j = 0; j < d; j++) row.push(String(data[i * d + j]));
    lines.push(`${row.join(',')}\n`);
  }
  return lines.join('');
}

/**
 * Writes the chunks to `path` atomically as they come (a temp file beside it, flushed, then a
 * rename), so output of any length is written in bounded memory; an existing file is
 * replaced only with `--force`. A failure removes the temp file.
 */
export async function writeStreamAtomic(path: string, chunks: AsyncIterable<string>, target: OutputTarget): Promise<void> {
  checkOutPath(path, target.flag, target.command);
  await refuseExisting(path, target);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
  try {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(tmp, 'wx');
    try {
      for await (const chunk of chunks) await handle.write(chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined); // ENOTDIR when the folder never existed
    throw writeError(e, path, target.command);
  }
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

/** Writes one output file atomically; an existing file is replaced only with `--force`. */
export async function writeOutput(path: string, data: Uint8Array | string, target: OutputTarget): Promise<void> {
  checkOutPath(path, target.flag, target.command);
  await refuseExisting(path, target);
  try {
    await writeFileAtomic(path, data);
  } catch (e) {
    throw writeError(e, path, target.command);
  }
}
