import { resolve } from 'node:path';
import { ConstantDimensionError, fitStandardize, type Flow, type FlowSpec } from '@bijective/core';
import { DataFileError } from '../datasets/errors.js';
import { loadDataFile, type DataFileSpec } from '../datasets/files.js';
import type { Dataset } from '../datasets/registry.js';
import type { Preset } from '../presets/registry.js';
import { CliError } from './common.js';

/** The `--data` family of `train` options. */
export interface DataOptions {
  data?: string;
  test?: string;
  testFraction?: number;
  columns?: string;
  /** Commander's `--no-standardize`: true unless turned off. */
  standardize?: boolean;
  dataSeed?: number;
}

const list = (s: string | undefined) =>
  s === undefined
    ? undefined
    : s
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== '');

/** What `--data` and friends ask for (paths made absolute, so the checkpoint can reload them from anywhere). */
export function dataFileSpec(opts: DataOptions, extra: Partial<DataFileSpec> = {}): DataFileSpec {
  if (opts.data === undefined) throw new CliError('--data FILE is required here');
  if (opts.test !== undefined && opts.testFraction !== undefined) throw new CliError('train: pass --test FILE or --test-fraction, not both');
  const columns = list(opts.columns);
  return {
    file: resolve(opts.data),
    ...(opts.test !== undefined ? { test: resolve(opts.test) } : { testFraction: opts.testFraction ?? 0.1 }),
    seed: opts.dataSeed ?? 1,
    ...(columns ? { columns } : {}),
    ...extra,
  };
}

/** Loads a user's data file, turning a malformed file into a one-line CLI error. */
export async function loadUserData(spec: DataFileSpec): Promise<Dataset> {
  try {
    return await loadDataFile(spec);
  } catch (e) {
    if (e instanceof DataFileError) throw new CliError(e.message);
    throw e;
  }
}

/**
 * The spec to train on a user's data: a vector preset sized to the data's dimension
 * (`specForDim`), with a `standardize` layer first unless `--no-standardize`; image data
 * uses the preset's spec as it is.
 */
export function specForData(preset: Preset, dataset: Dataset, standardize: boolean): FlowSpec {
  if (dataset.kind !== 'vector') return preset.spec();
  const spec = preset.specForDim ? preset.specForDim(dataset.dim) : preset.spec();
  return standardize ? { ...spec, layers: [{ type: 'standardize' }, ...spec.layers] } : spec;
}

/** Fits the leading `standardize` layer on the training split (when the spec has one). */
export function fitDataStandardize(flow: Flow, dataset: Dataset): void {
  if (dataset.kind !== 'vector' || flow.layers[0]?.spec.type !== 'standardize') return;
  try {
    fitStandardize(flow, dataset.train);
  } catch (e) {
    if (e instanceof ConstantDimensionError) {
      const name = dataset.columns?.[e.dimension] ?? String(e.dimension);
      throw new CliError(`train: column '${name}' is constant (${e.value}) on the training split of ${dataset.name}; a flow cannot model a constant — leave it out with --columns`);
    }
    throw e;
  }
}
