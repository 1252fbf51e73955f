import { InvalidArgumentError } from 'commander';
import type { Flow, TrainData } from '@bijective/core';
import { loadCheckpoint, type CheckpointMeta } from '@bijective/core/node';
import { resolve } from 'node:path';
import { DataFileError } from '../datasets/errors.js';
import { loadDataFile, type DataFileSpec } from '../datasets/files.js';
import { loadDataset, type Dataset } from '../datasets/registry.js';

/** An error the CLI reports as one line (no stack) with exit code 1. */
/** The exit status a command asks for besides an error (an interrupted train: 128 + the signal's number). */
export const exitStatus = { code: 0 };

export class CliError extends Error {
  override name = 'CliError';
}

/** What `train` records in `flow.json`'s `meta` (read back by the other commands). */
export interface TrainMeta {
  preset?: string;
  dataset?: string;
  dataSeed?: number;
  dataDir?: string;
  command?: string;
  /** Trained on a user's file (`--data`): how it was read and split. */
  data?: DataFileSpec;
  [key: string]: unknown;
}

export async function openCheckpoint(dir: string): Promise<{ flow: Flow; meta: TrainMeta & CheckpointMeta }> {
  const { flow, meta } = await loadCheckpoint(dir);
  return { flow, meta: meta as TrainMeta };
}

/**
 * The dataset named on the command line (`--dataset NAME`, or `--data FILE`: every row of FILE
 * is the test split, read with the checkpoint's columns), else the one the checkpoint was
 * trained on (a user's file: the same split).
 */
export async function datasetFor(meta: TrainMeta, options: { dataset?: string; dataDir?: string; data?: string }, command: string): Promise<Dataset> {
  if (options.data !== undefined && options.dataset !== undefined) throw new CliError(`${command}: pass --dataset NAME or --data FILE, not both`);
  if (options.data !== undefined || (options.dataset === undefined && meta.data)) {
    const file = options.data !== undefined ? resolve(options.data) : undefined;
    const recorded = meta.data;
    const spec: DataFileSpec = file
      ? { ...(recorded ? { columns: recorded.columns, contextColumns: recorded.contextColumns, conditionOn: recorded.conditionOn } : {}), file, test: file }
      : recorded!;
    try {
      return await loadDataFile(JSON.parse(JSON.stringify(spec)) as DataFileSpec);
    } catch (e) {
      if (e instanceof DataFileError) throw new CliError(`${command}: ${e.message}`);
      throw e;
    }
  }
  const name = options.dataset ?? meta.dataset;
  if (!name) throw new CliError(`${command}: the checkpoint does not say which dataset it was trained on; pass --dataset`);
  const dataDir = options.dataDir ?? meta.dataDir;
  const dataset = await loadDataset(name, { ...(meta.dataSeed !== undefined ? { seed: meta.dataSeed } : {}), ...(dataDir !== undefined ? { dataDir } : {}) });
  if (meta.conditionOn !== 'label') return dataset;
  const { withClassContext } = await import('./conditioning.js');
  return withClassContext(dataset, dataDir, command);
}

/** Commander argument parsers that reject bad values with a one-line message. */
export function intOption(min: number, max?: number) {
  return (value: string): number => {
    // Decimal digits only: Number() would also take '', ' ', '0x5', '1e3' and '0b11'.
    const v = /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(v) || v < min) throw new InvalidArgumentError(`expected an integer >= ${min}${max !== undefined ? ` and <= ${max}` : ''}, got '${value}'`);
    if (max !== undefined && v > max) throw new InvalidArgumentError(`expected an integer <= ${max} (the limit), got '${value}'`);
    return v;
  };
}

/**
 * The bounds on sizes a user can ask for (each refused beyond its limit with a clear error;
 * `sample --n` into a CSV has none: it is streamed in batches of `sampleBatch`).
 */
export const LIMITS = {
  /** Pixel scale of a PNG. */
  zoom: 32,
  /** Images per row of a grid, frames of an interpolation strip. */
  columns: 1024,
  frames: 1024,
  /** Heat map width and height. */
  heatmapSize: 4096,
  /** Examples per runtime call (eval, density). */
  batch: 65536,
  /** Pixels of one PNG (width × height): 2^26, 256 MB of RGBA. */
  pngPixels: 2 ** 26,
  /** Samples per decode call when `sample` streams a CSV. */
  sampleBatch: 4096,
} as const;

export function numberOption(check: (v: number) => boolean, what: string) {
  return (value: string): number => {
    const v = Number(value);
    if (value.trim() === '' || /^\s*[+-]?0[xXbBoO]/.test(value) || !Number.isFinite(v) || !check(v)) throw new InvalidArgumentError(`expected ${what}, got '${value}'`);
    return v;
  };
}

/** The command line as typed, for `flow.json` (so a checkpoint says how it was made). */
export function commandLine(argv: readonly string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['bijective', ...argv].map(quote).join(' ');
}

/** The first `count` examples of a split as the trainer's data (bytes for images, dequantised by the trainer). */
export function trainData(dataset: Dataset, split: 'train' | 'test', event: readonly number[], count?: number): TrainData {
  if (dataset.kind === 'vector') {
    const n = Math.min(count ?? Infinity, split === 'train' ? dataset.nTrain : dataset.nTest);
    const values = split === 'train' ? dataset.train : dataset.test;
    return { data: values.subarray(0, n * dataset.dim), shape: [n, ...event], ...contextOf(dataset, split, n) };
  }
  const set = dataset[split];
  const n = Math.min(count ?? Infinity, set.count);
  const size = set.shape[0] * set.shape[1] * set.shape[2];
  return { data: set.data.subarray(0, n * size), shape: [n, ...event], ...contextOf(dataset, split, n) };
}

/** The first `n` context rows of a conditional dataset, as the trainer takes them. */
function contextOf(dataset: Dataset, split: 'train' | 'test', n: number): Pick<TrainData, 'context'> {
  const c = dataset.context;
  return c ? { context: { data: c[split].subarray(0, n * c.dim), shape: [n, c.dim] } } : {};
}
