import { InvalidArgumentError } from 'commander';
import type { Flow } from '@bijective/core';
import { loadCheckpoint, type CheckpointMeta } from '@bijective/core/node';
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
  [key: string]: unknown;
}

export async function openCheckpoint(dir: string): Promise<{ flow: Flow; meta: TrainMeta & CheckpointMeta }> {
  const { flow, meta } = await loadCheckpoint(dir);
  return { flow, meta: meta as TrainMeta };
}

/** The dataset named on the command line, else the one the checkpoint was trained on. */
export async function datasetFor(meta: TrainMeta, options: { dataset?: string; dataDir?: string }, command: string): Promise<Dataset> {
  const name = options.dataset ?? meta.dataset;
  if (!name) throw new CliError(`${command}: the checkpoint does not say which dataset it was trained on; pass --dataset`);
  const dataDir = options.dataDir ?? meta.dataDir;
  return loadDataset(name, { ...(meta.dataSeed !== undefined ? { seed: meta.dataSeed } : {}), ...(dataDir !== undefined ? { dataDir } : {}) });
}

/** Commander argument parsers that reject bad values with a one-line message. */
export function intOption(min: number) {
  return (value: string): number => {
    const v = Number(value);
    if (!Number.isInteger(v) || v < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got '${value}'`);
    return v;
  };
}

export function numberOption(check: (v: number) => boolean, what: string) {
  return (value: string): number => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isFinite(v) || !check(v)) throw new InvalidArgumentError(`expected ${what}, got '${value}'`);
    return v;
  };
}

/** The command line as typed, for `flow.json` (so a checkpoint says how it was made). */
export function commandLine(argv: readonly string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['bijective', ...argv].map(quote).join(' ');
}
