import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Rng, type Flow, type Tensor } from '@bijective/core';
import { gatherExamples } from '../datasets/batches.js';
import { parseTable } from '../datasets/csv.js';
import { DataFileError } from '../datasets/errors.js';
import { FASHION_MNIST_CLASSES, loadFashionMnistLabels } from '../datasets/fashionMnist.js';
import { DEFAULT_ENGINE, openRuntime } from '../engines.js';
import { attributeDirection, editAlong } from '../latent.js';
import { imageGrid } from '../render.js';
import { CliError, LIMITS, datasetFor, intOption, numberOption, openCheckpoint, type TrainMeta } from './common.js';
import { checkOutPath, csvHeader, csvRows, outputKind, refuseExisting, writeOutput, type OutputTarget } from './output.js';
import { checkGridSize, imageShapeOf } from './sample.js';

interface EditOptions {
  checkpoint: string;
  attribute: string;
  image: number;
  steps: number;
  scale: number;
  perGroup: number;
  out: string;
  engine: string;
  seed: number;
  zoom: number;
  dataset?: string;
  dataDir?: string;
  data?: string;
  labelColumn?: string;
  force?: boolean;
}

/** Labelled examples: the test split of a dataset (or every row of a user's table) with a class per example. */
export interface LabelledExamples {
  name: string;
  classes: readonly string[];
  /** The class index of each example. */
  labels: Int32Array;
  /** Examples `indices` as `[n, ...event]` (images dequantised with `rng`). */
  gather(indices: readonly number[], rng: Rng): Tensor;
}

/** Class `value` of `classes`: its name (exact, else the one case-insensitive match) or its index. */
export function resolveClass(value: string, classes: readonly string[], what: string): number {
  const exact = classes.indexOf(value);
  if (exact >= 0) return exact;
  const folded = classes.map((c, i) => [c.toLowerCase(), i] as const).filter(([c]) => c === value.trim().toLowerCase());
  if (folded.length === 1) return folded[0]![1];
  if (/^\s*\d+\s*$/.test(value) && Number(value) < classes.length) return Number(value);
  throw new CliError(`edit: unknown class '${value}' in ${what}; the classes are ${classes.map((c) => `'${c}'`).join(', ')} (or 0..${classes.length - 1})`);
}

/** The examples `edit` takes groups and the image from, with their labels. */
async function labelledExamples(flow: Flow, meta: TrainMeta, opts: EditOptions): Promise<LabelledExamples> {
  if (opts.labelColumn !== undefined) {
    if (opts.data === undefined) throw new CliError('edit: --label-column names a column of --data FILE (a table); pass --data');
    const file = resolve(opts.data);
    let table;
    try {
      const columns = Array.isArray(meta.columns) ? (meta.columns as string[]) : meta.data?.columns;
      table = parseTable(await readFile(file), file, { labelColumn: opts.labelColumn, ...(columns ? { columns } : {}) });
    } catch (e) {
      if (e instanceof DataFileError) throw new CliError(`edit: ${e.message}`);
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`edit: ${file}: no such file`);
      throw e;
    }
    const d = table.x.columns.length;
    if (d !== flow.dim) throw new CliError(`edit: ${file} gives vectors of ${d} (columns ${table.x.columns.join(', ')}); the flow models ${flow.dim}`);
    const classes = [...new Set(table.labels!)];
    const labels = Int32Array.from(table.labels!, (l) => classes.indexOf(l));
    const values = table.x.values;
    return {
      name: file,
      classes,
      labels,
      gather: (indices) => {
        const data = new Float64Array(indices.length * d);
        indices.forEach((r, i) => data.set(values.subarray(r * d, (r + 1) * d), i * d));
        return { data, shape: [indices.length, ...flow.spec.event] };
      },
    };
  }
  const dataset = await datasetFor(meta, opts, 'edit');
  let labels = dataset.kind === 'image' ? dataset.labels : undefined;
  if (!labels && dataset.name === 'fmnist') {
    labels = { classes: FASHION_MNIST_CLASSES, ...(await loadFashionMnistLabels(opts.dataDir ?? meta.dataDir)) };
  }
  if (!labels) {
    throw new CliError(`edit: '${dataset.name}' has no class labels; use Fashion-MNIST, --data DIR with one sub-folder of PNGs per class, or --data FILE.csv --label-column COLUMN`);
  }
  return { name: dataset.name, classes: labels.classes, labels: labels.test, gather: (indices, rng) => gatherExamples(dataset, 'test', indices, flow.spec.event, rng) };
}

function parseAttribute(s: string): [string, string] {
  const parts = s.split(',');
  if (parts.length !== 2 || parts.some((p) => p.trim() === '')) throw new CliError(`edit: --attribute expects two classes 'A,B' (the direction goes from B's mean latent to A's), got '${s}'`);
  return [parts[0]!.trim(), parts[1]!.trim()];
}

async function edit(opts: EditOptions): Promise<void> {
  checkOutPath(opts.out, '--out', 'edit');
  const kind = outputKind(opts.out, 'edit');
  const target: OutputTarget = { command: 'edit', flag: '--out', force: opts.force === true };
  await refuseExisting(opts.out, target);
  const [nameA, nameB] = parseAttribute(opts.attribute);
  const { flow, meta } = await openCheckpoint(opts.checkpoint);
  if (flow.spec.context) throw new CliError('edit: moves images of unconditional flows; this one is conditional (sample it with --class instead)');
  const image = imageShapeOf(flow, meta);
  if (kind === 'png' && !image) throw new CliError(`edit: this flow's examples are vectors of ${flow.dim}; write the strip as CSV (--out FILE.csv)`);
  if (kind === 'png') checkGridSize(opts.steps, image!, opts.zoom, opts.steps);
  const examples = await labelledExamples(flow, meta, opts);
  const a = resolveClass(nameA, examples.classes, `--attribute ${opts.attribute}`);
  const b = resolveClass(nameB, examples.classes, `--attribute ${opts.attribute}`);
  if (a === b) throw new CliError(`edit: --attribute ${opts.attribute} names class '${examples.classes[a]}' twice; the direction needs two different classes`);
  const members = (c: number) => {
    const out: number[] = [];
    for (let i = 0; i < examples.labels.length && out.length < opts.perGroup; i++) if (examples.labels[i] === c) out.push(i);
    return out;
  };
  const [inA, inB] = [members(a), members(b)];
  const empty = [inA.length ? -1 : a, inB.length ? -1 : b].find((c) => c >= 0);
  if (empty !== undefined) throw new CliError(`edit: class '${examples.classes[empty]}' has no examples in ${examples.name}`);
  const count = examples.labels.length;
  if (opts.image >= count) throw new CliError(`edit: --image ${opts.image} is out of range; ${examples.name} has ${count} examples (0..${count - 1})`);
  const rng = new Rng(opts.seed);
  const runtime = await openRuntime(flow, opts.engine);
  try {
    const direction = await attributeDirection(runtime, examples.gather(inA, rng), examples.gather(inB, rng));
    const strip = await editAlong(runtime, examples.gather([opts.image], rng), direction, { steps: opts.steps, scale: opts.scale });
    const bytes = kind === 'png' ? imageGrid(strip.data, [opts.steps, ...image!], { columns: opts.steps, zoom: opts.zoom }) : csvHeader(flow.dim) + csvRows(strip.data, opts.steps, flow.dim);
    await writeOutput(opts.out, bytes, target);
  } finally {
    await runtime.dispose();
  }
}

export function registerEdit(program: Command): void {
  program
    .command('edit')
    .description("move one image along an attribute direction (the mean latent of class A minus that of class B) and write the strip")
    .requiredOption('--checkpoint <dir>', 'checkpoint folder (an unconditional flow)')
    .requiredOption('--attribute <a,b>', "two classes by name or index, e.g. 'Shirt,T-shirt/top': the direction goes from B's mean latent to A's")
    .requiredOption('--out <file>', 'output file: .png (a strip, frame 0 the reconstruction) or .csv')
    .option('--image <k>', 'index of the test image (or --data row) to move', intOption(0), 0)
    .option('--steps <n>', `frames of the strip (at most ${LIMITS.frames})`, intOption(1, LIMITS.frames), 8)
    .option('--scale <s>', 'how far the last frame moves, in units of the direction (negative: towards B)', numberOption(Number.isFinite, 'a finite number'), 1)
    .option('--per-group <n>', 'test examples of each class averaged for the direction (the first n)', intOption(1), 256)
    .option('--seed <n>', 'dequantisation noise seed', intOption(0), 0)
    .option('--engine <engine>', 'engine: reference, tfjs-wasm, ort-node-cpu, ...', DEFAULT_ENGINE)
    .option('--zoom <n>', `pixel scale of the PNG (at most ${LIMITS.zoom})`, intOption(1, LIMITS.zoom), 2)
    .option('--dataset <name>', "labelled dataset (default: the checkpoint's)")
    .option('--data-dir <dir>', 'folder of the Fashion-MNIST IDX files')
    .option('--data <file>', 'your labelled data: a folder of PNGs with one sub-folder per class, or a table with --label-column')
    .option('--label-column <name>', 'with --data FILE (a table): the column of class labels')
    .option('--force', 'replace --out if it exists')
    .action(edit);
}
