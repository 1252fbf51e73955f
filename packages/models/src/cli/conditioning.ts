import type { FlowSpec, Tensor } from '@bijective/core';
import { oneHotContext } from '../datasets/files.js';
import { FASHION_MNIST_CLASSES, loadFashionMnistLabels } from '../datasets/fashionMnist.js';
import type { Dataset } from '../datasets/registry.js';
import { CliError, type TrainMeta } from './common.js';

/**
 * Conditional training and sampling from the command line: `train --context-columns a,b`
 * (tables), `train --condition-on label` (image folders laid out by class, Fashion-MNIST),
 * and `sample --context 0.5,1` / `sample --class 3` (or a class name, or `all`: one grid row
 * per class).
 */
export interface ConditioningOptions {
  contextColumns?: string;
  conditionOn?: string;
}

/** What a checkpoint records about its context (`meta.context`), for `sample --class`. */
export interface ContextMeta {
  kind: 'columns' | 'classes';
  names: string[];
}

export function checkConditionOn(value: string | undefined): 'label' | undefined {
  if (value === undefined) return undefined;
  if (value !== 'label') throw new CliError(`train: --condition-on takes 'label' (one-hot classes), got '${value}'`);
  return 'label';
}

/** The built-in labelled dataset with a one-hot class context (Fashion-MNIST). */
export async function withClassContext(dataset: Dataset, dataDir: string | undefined, command: string): Promise<Dataset> {
  if (dataset.kind !== 'image' || dataset.name !== 'fmnist') {
    throw new CliError(`${command}: --condition-on label needs class labels: Fashion-MNIST (--dataset fmnist) or --data DIR with one sub-folder per class; '${dataset.name}' has none`);
  }
  const labels = await loadFashionMnistLabels(dataDir);
  return { ...dataset, labels: { classes: FASHION_MNIST_CLASSES, ...labels }, context: oneHotContext(FASHION_MNIST_CLASSES, labels.train, labels.test) };
}

/**
 * The spec made conditional on the dataset's context: `context: [K]` and a learned
 * conditional Gaussian base; a spec that declares a context already must have the data's K.
 */
export function conditionalSpec(spec: FlowSpec, dataset: Dataset, what: string): FlowSpec {
  const c = dataset.context;
  if (!c) {
    if (spec.context) throw new CliError(`${what} is conditional on a context of [${spec.context[0]}]; pass --condition-on label or --context-columns`);
    return spec;
  }
  if (spec.context) {
    if (spec.context[0] !== c.dim) throw new CliError(`${what} is conditional on a context of [${spec.context[0]}], the data gives ${c.dim} (${c.names.join(', ')})`);
    return spec;
  }
  return { ...spec, context: [c.dim], base: 'conditionalGaussian' };
}

/** The context of a `sample` or `density` call from `--context v1,v2,...` or `--class K|name` (one context for every row). */
export function sampleContext(meta: TrainMeta, k: number | undefined, opts: { context?: string; class?: string }, command = 'sample'): Tensor | undefined {
  if (k === undefined) {
    if (opts.context !== undefined || opts.class !== undefined) throw new CliError(`${command}: this flow is not conditional; --context and --class apply to flows trained with --context-columns or --condition-on label`);
    return undefined;
  }
  const ctx = meta.context as ContextMeta | undefined;
  if (opts.context !== undefined && opts.class !== undefined) throw new CliError(`${command}: pass --context or --class, not both`);
  if (opts.context !== undefined) {
    const cells = opts.context.split(',').map((v) => v.trim());
    const values = cells.map(Number);
    if (values.length !== k || cells.some((c) => c === '') || !values.every(Number.isFinite)) {
      throw new CliError(`${command}: --context needs ${k} comma-separated numbers${ctx ? ` (${ctx.names.join(', ')})` : ''}, got '${opts.context}'`);
    }
    return { data: Float64Array.from(values), shape: [k] };
  }
  if (opts.class !== undefined) return { data: oneHot(classIndex(meta, k, opts.class, command), k), shape: [k] };
  throw new CliError(`${command}: this flow is conditional on ${k} context values${ctx ? ` (${ctx.kind === 'classes' ? `classes ${ctx.names.join(', ')}` : ctx.names.join(', ')})` : ''}; pass --context v1,...,v${k}${ctx?.kind === 'classes' ? ' or --class K' : ''}`);
}

export function oneHot(index: number, k: number): Float64Array {
  const v = new Float64Array(k);
  v[index] = 1;
  return v;
}

/** `--class` as an index: a number 0..K−1 or a class name. */
export function classIndex(meta: TrainMeta, k: number, value: string, command = 'sample'): number {
  const ctx = meta.context as ContextMeta | undefined;
  if (ctx && ctx.kind !== 'classes') throw new CliError(`${command}: --class applies to flows conditioned on classes (--condition-on label); this one is conditioned on ${ctx.names.join(', ')}: use --context`);
  const byName = ctx?.names.indexOf(value) ?? -1;
  if (byName >= 0) return byName;
  // Decimal digits only: Number() would read '', ' ' and '0x2' as classes 0 and 2.
  const i = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!(Number.isSafeInteger(i) && i >= 0 && i < k)) throw new CliError(`${command}: --class must be 0..${k - 1}${ctx ? ` or one of ${ctx.names.join(', ')}` : ''}, got '${value}'`);
  return i;
}
