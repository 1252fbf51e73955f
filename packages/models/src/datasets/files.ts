import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Rng } from '@bijective/core';
import { parseTable } from './csv.js';
import { DataFileError } from './errors.js';
import { imageSet } from './images.js';
import { readNpy } from './npy.js';
import { readPngFolder } from './png.js';
import type { Dataset, DatasetContext } from './registry.js';

/**
 * A user's own data (`bijective train --data FILE`): what to read and how to split it. Saved
 * in a checkpoint's `meta.data`, so `eval`, `sample` and `density` reload the same split.
 */
export interface DataFileSpec {
  /** A `.csv`/`.tsv`/`.txt` table, a `.npy` array, or a folder of PNG images. */
  file: string;
  /** A separate test file (same format and columns); else a seeded split of `file`. */
  test?: string;
  /** Fraction of `file`'s rows held out for testing when there is no `test` (default 0.1). */
  testFraction?: number;
  /** Seed of the split (default 1). */
  seed?: number;
  /** Tables and `[N, D]` arrays: the columns to model, by name or 0-based index (default: all but the context columns). */
  columns?: string[];
  /** Tables and `[N, D]` arrays: columns to condition on (the flow's `context`). */
  contextColumns?: string[];
  /** `'label'`: condition on the class (image folders laid out by class), as a one-hot context. */
  conditionOn?: 'label';
}

export const DEFAULT_TEST_FRACTION = 0.1;

/** One file's rows before splitting: vectors (with optional context) or images (with optional class labels). */
type Rows =
  | { kind: 'vector'; dim: number; n: number; values: Float64Array; columns: string[]; context?: { dim: number; values: Float64Array; names: string[] } }
  | { kind: 'image'; shape: [number, number, number]; n: number; values: Uint8Array; classes?: string[]; labels?: Int32Array };

function selectColumns(arr: Float64Array, n: number, width: number, idx: number[]): Float64Array {
  const out = new Float64Array(n * idx.length);
  for (let i = 0; i < n; i++) idx.forEach((c, j) => (out[i * idx.length + j] = arr[i * width + c]!));
  return out;
}

function arrayColumns(keys: readonly string[] | undefined, width: number, file: string, option: string): number[] | undefined {
  return keys?.map((k) => {
    const c = Number(k);
    if (!(/^\d+$/.test(k) && c < width)) throw new DataFileError(`${file}: ${option} '${k}': an .npy array's columns are 0-based indices 0..${width - 1}`);
    return c;
  });
}

async function readRows(file: string, spec: DataFileSpec): Promise<Rows> {
  let info;
  try {
    info = await stat(file);
  } catch {
    throw new DataFileError(`${file}: no such file or folder`);
  }
  if (info.isDirectory()) {
    if (spec.columns || spec.contextColumns) throw new DataFileError(`${file}: --columns and --context-columns apply to tables and [N, D] arrays, not to a folder of images`);
    const f = await readPngFolder(file);
    return { kind: 'image', shape: f.shape, n: f.count, values: f.data, ...(f.classes ? { classes: f.classes, labels: f.labels! } : {}) };
  }
  const bytes = await readFile(file);
  if (/\.npy$/i.test(file)) {
    const a = readNpy(bytes, file);
    if (a.dtype === 'uint8' && (a.shape.length === 3 || a.shape.length === 4)) {
      if (spec.columns || spec.contextColumns) throw new DataFileError(`${file}: --columns and --context-columns apply to [N, D] arrays; this is a uint8 image array of shape (${a.shape.join(', ')})`);
      const shape = (a.shape.length === 3 ? [1, a.shape[1], a.shape[2]] : a.shape.slice(1)) as [number, number, number];
      return { kind: 'image', shape, n: a.shape[0]!, values: a.data as Uint8Array };
    }
    if (a.shape.length !== 2) {
      throw new DataFileError(
        `${file}: shape (${a.shape.join(', ')}) of ${a.dtype}; expected vectors [N, D] (any dtype), or 8-bit images [N, H, W] / [N, C, H, W] (uint8)`,
      );
    }
    const [n, width] = a.shape as [number, number];
    const values = Float64Array.from(a.data);
    const ctxIdx = arrayColumns(spec.contextColumns, width, file, '--context-columns') ?? [];
    const xIdx = arrayColumns(spec.columns, width, file, '--columns') ?? Array.from({ length: width }, (_, i) => i).filter((i) => !ctxIdx.includes(i));
    if (xIdx.length === 0) throw new DataFileError(`${file}: no columns left to model`);
    return {
      kind: 'vector',
      dim: xIdx.length,
      n,
      values: selectColumns(values, n, width, xIdx),
      columns: xIdx.map(String),
      ...(ctxIdx.length ? { context: { dim: ctxIdx.length, values: selectColumns(values, n, width, ctxIdx), names: ctxIdx.map(String) } } : {}),
    };
  }
  if (!/\.(csv|tsv|tab|txt)$/i.test(file)) throw new DataFileError(`${file}: unknown kind of data file; expected .csv, .tsv, .txt (comma-separated), .npy, or a folder of .png images`);
  const t = parseTable(bytes, file, { ...(spec.columns ? { columns: spec.columns } : {}), ...(spec.contextColumns ? { contextColumns: spec.contextColumns } : {}) });
  return {
    kind: 'vector',
    dim: t.x.columns.length,
    n: t.x.rows,
    values: t.x.values,
    columns: t.x.columns,
    ...(t.context ? { context: { dim: t.context.columns.length, values: t.context.values, names: t.context.columns } } : {}),
  };
}

/** Rows `idx` of row-major `values` with `size` values per row. */
function take<T extends Float64Array | Uint8Array | Int32Array>(values: T, size: number, idx: readonly number[]): T {
  const out = new (values.constructor as new (n: number) => T)(idx.length * size);
  idx.forEach((r, i) => out.set(values.subarray(r * size, (r + 1) * size), i * size));
  return out;
}

/**
 * The seeded split of `n` rows: a permutation from `seed`, its first `round(n · fraction)`
 * rows (at least 1) are the test set; both index lists sorted, so rows keep their file order.
 */
export function splitIndices(n: number, fraction: number, seed: number): { train: number[]; test: number[] } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`test fraction must be in (0, 1), got ${fraction}`);
  const nTest = Math.max(1, Math.round(n * fraction));
  if (n - nTest < 1) throw new DataFileError(`${n} rows cannot be split into a training and a test set at test fraction ${fraction}`);
  const perm = new Rng(seed).permutation(n);
  const byIndex = (a: number, b: number) => a - b;
  return { test: perm.slice(0, nTest).sort(byIndex), train: perm.slice(nTest).sort(byIndex) };
}

function checkSame(a: Rows, b: Rows, spec: DataFileSpec): void {
  const describe = (r: Rows) => (r.kind === 'vector' ? `vectors of ${r.dim} (columns ${r.columns.join(', ')})${r.context ? ` with ${r.context.dim} context columns` : ''}` : `images ${r.shape.join('×')}`);
  const same =
    a.kind === b.kind &&
    (a.kind === 'vector' ? a.columns.join() === (b as typeof a).columns.join() && (a.context?.names.join() ?? '') === ((b as typeof a).context?.names.join() ?? '') : a.shape.join() === (b as typeof a).shape.join());
  if (!same) throw new DataFileError(`--test ${spec.test} holds ${describe(b)}, --data ${spec.file} holds ${describe(a)}; they must match`);
  if (a.kind === 'image' && (a.classes?.join() ?? '') !== ((b as typeof a).classes?.join() ?? '')) {
    throw new DataFileError(`--test ${spec.test} has classes [${(b as typeof a).classes?.join(', ') ?? 'none'}], --data ${spec.file} has [${a.classes?.join(', ') ?? 'none'}]; they must match`);
  }
}

/** Classes as one-hot context vectors `[n, K]`. */
export function oneHotContext(classes: string[], train: Int32Array, test: Int32Array): DatasetContext {
  const k = classes.length;
  const oneHot = (labels: Int32Array) => {
    const out = new Float64Array(labels.length * k);
    labels.forEach((l, i) => (out[i * k + l] = 1));
    return out;
  };
  return { kind: 'classes', dim: k, names: classes, train: oneHot(train), test: oneHot(test) };
}

/** Loads a user's data file (and test file, or a seeded split) as a {@link Dataset}. */
export async function loadDataFile(spec: DataFileSpec): Promise<Dataset> {
  const all = await readRows(spec.file, spec);
  let train: Rows;
  let test: Rows;
  if (spec.test !== undefined) {
    train = all;
    test = await readRows(spec.test, spec);
    checkSame(train, test, spec);
  } else {
    const split = splitIndices(all.n, spec.testFraction ?? DEFAULT_TEST_FRACTION, spec.seed ?? 1);
    const part = (idx: number[]): Rows =>
      all.kind === 'vector'
        ? { ...all, n: idx.length, values: take(all.values, all.dim, idx), ...(all.context ? { context: { ...all.context, values: take(all.context.values, all.context.dim, idx) } } : {}) }
        : { ...all, n: idx.length, values: take(all.values, all.shape[0] * all.shape[1] * all.shape[2], idx), ...(all.labels ? { labels: take(all.labels, 1, idx) } : {}) };
    train = part(split.train);
    test = part(split.test);
  }
  const name = basename(spec.file);
  if (train.kind === 'vector' && spec.conditionOn === 'label') throw new DataFileError(`${spec.file}: --condition-on label applies to image folders laid out by class; for tables use --context-columns`);
  if (train.kind === 'vector' && test.kind === 'vector') {
    const context: DatasetContext | undefined = train.context
      ? { kind: 'columns', dim: train.context.dim, names: train.context.names, train: train.context.values, test: test.context!.values }
      : undefined;
    return { kind: 'vector', name, dim: train.dim, train: train.values, test: test.values, nTrain: train.n, nTest: test.n, columns: train.columns, source: spec, ...(context ? { context } : {}) };
  }
  if (train.kind === 'image' && test.kind === 'image') {
    if (spec.conditionOn === 'label' && !train.classes) {
      throw new DataFileError(`${spec.file}: --condition-on label needs class labels: lay the images out as one sub-folder per class (${spec.file}/<class>/*.png)`);
    }
    return {
      kind: 'image',
      name,
      shape: train.shape,
      train: imageSet(train.shape, train.values),
      test: imageSet(test.shape, test.values),
      bins: 256,
      source: spec,
      ...(train.classes ? { labels: { classes: train.classes, train: train.labels!, test: test.labels! } } : {}),
      ...(spec.conditionOn === 'label' ? { context: oneHotContext(train.classes!, train.labels!, test.labels!) } : {}),
    };
  }
  throw new DataFileError('unreachable: train and test kinds differ');
}
