import { parse } from 'csv-parse/sync';
import { DataFileError } from './errors.js';

/**
 * Numeric tables from CSV/TSV text, parsed by csv-parse (node-csv; quoting, CRLF, BOM and
 * `#` comment lines handled there). The first row is a header when any of its fields is not
 * a number; otherwise the columns are named by their 0-based index ("0", "1", ...). Every
 * other value must be a finite number: a missing field, a ragged row, text, `NaN` or
 * `Infinity` is a {@link DataFileError} naming the file, the line and the column.
 */
export interface Table {
  /** The names of the chosen columns, in order. */
  columns: string[];
  /** `[rows, columns.length]` row-major. */
  values: Float64Array;
  rows: number;
  /** The 1-based line of each row in the file (for later messages). */
  lines: number[];
}

export interface TableOptions {
  /** Field separator; default: tab for `.tsv`/`.tab` files, else comma. */
  delimiter?: string;
  /** Columns to keep, by header name or 0-based index (default: every column). */
  columns?: readonly string[];
  /** Read columns `columns` and additionally these, returned as a second table (conditioning variables). */
  contextColumns?: readonly string[];
  /** A column of class labels (any text), returned as `labels`, one per row (`bijective edit --label-column`); never modelled. */
  labelColumn?: string;
}

const isNumber = (s: string) => s.trim() !== '' && Number.isFinite(Number(s));

export function delimiterFor(file: string): string {
  return /\.(tsv|tab)$/i.test(file) ? '\t' : ',';
}

/** Index of column `key` (a header name, else a 0-based index). */
function columnIndex(key: string, names: readonly string[], file: string, option: string): number {
  const byName = names.indexOf(key);
  if (byName >= 0) return byName;
  if (/^\d+$/.test(key) && Number(key) < names.length) return Number(key);
  throw new DataFileError(`${file}: ${option} names column '${key}', which the file does not have; its columns are ${names.map((n) => `'${n}'`).join(', ')} (or 0..${names.length - 1})`);
}

/**
 * Parses `text` (the contents of `file`) into the chosen columns: `x` (the modelled
 * variables) and, when `contextColumns` is given, `context`. Without `columns`, `x` is every
 * column not in `contextColumns`.
 */
export function parseTable(text: string | Buffer, file: string, options: TableOptions = {}): { x: Table; context?: Table; labels?: string[] } {
  const delimiter = options.delimiter ?? delimiterFor(file);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { delimiter, info: true, relax_column_count: true, skip_empty_lines: true, comment: '#', bom: true, trim: true }) as unknown as typeof records;
  } catch (e) {
    throw new DataFileError(`${file}: not readable as ${delimiter === '\t' ? 'TSV' : 'CSV'}: ${(e as Error).message}`);
  }
  if (records.length === 0) throw new DataFileError(`${file}: no rows`);
  const first = records[0]!.record;
  const header = !first.every(isNumber);
  const width = first.length;
  const names = header ? first.map((n, i) => n || String(i)) : first.map((_, i) => String(i));
  const body = header ? records.slice(1) : records;
  if (body.length === 0) throw new DataFileError(`${file}: a header (${names.join(', ')}) but no data rows`);

  const contextIdx = (options.contextColumns ?? []).map((k) => columnIndex(k, names, file, '--context-columns'));
  const labelIdx = options.labelColumn !== undefined ? columnIndex(options.labelColumn, names, file, '--label-column') : -1;
  const xIdx = options.columns
    ? options.columns.map((k) => columnIndex(k, names, file, '--columns'))
    : names.map((_, i) => i).filter((i) => !contextIdx.includes(i) && i !== labelIdx);
  if (xIdx.includes(labelIdx)) throw new DataFileError(`${file}: column '${names[labelIdx]}' is both modelled and the --label-column`);
  if (xIdx.length === 0) throw new DataFileError(`${file}: no columns left to model (every column is a context column)`);
  const both = xIdx.filter((i) => contextIdx.includes(i));
  if (both.length) throw new DataFileError(`${file}: column '${names[both[0]!]}' is in both --columns and --context-columns`);

  const read = (idx: number[]): Table => ({ columns: idx.map((i) => names[i]!), values: new Float64Array(body.length * idx.length), rows: body.length, lines: [] });
  const x = read(xIdx);
  const context = contextIdx.length ? read(contextIdx) : undefined;
  const labels: string[] = [];
  body.forEach(({ record, info }, r) => {
    const line = info.lines;
    if (record.length !== width) {
      throw new DataFileError(`${file}: line ${line} has ${record.length} fields, expected ${width} (as in ${header ? 'the header' : 'line 1'})`);
    }
    const take = (t: Table, idx: number[]) => {
      idx.forEach((c, j) => {
        const s = record[c]!;
        if (s === '') throw new DataFileError(`${file}: line ${line}, column '${names[c]}': missing value; expected a number`);
        const v = Number(s);
        if (!Number.isFinite(v)) throw new DataFileError(`${file}: line ${line}, column '${names[c]}': '${s}' is not a finite number`);
        t.values[r * idx.length + j] = v;
      });
      t.lines.push(line);
    };
    take(x, xIdx);
    if (context) take(context, contextIdx);
    if (labelIdx >= 0) {
      if (record[labelIdx] === '') throw new DataFileError(`${file}: line ${line}, column '${names[labelIdx]}': missing label`);
      labels.push(record[labelIdx]!);
    }
  });
  return { x, ...(context ? { context } : {}), ...(labelIdx >= 0 ? { labels } : {}) };
}
