import type { Command } from 'commander';
import { Rng, sizeOf, type Flow, type FlowRuntime, type Tensor } from '@bijective/core';
import { gatherExamples, splitOf } from '../datasets/batches.js';
import { DEFAULT_ENGINE, openRuntime } from '../engines.js';
import { LATENT_PATHS, interpolateExamples, temperatureSweep, type LatentPath } from '../latent.js';
import { imageGrid } from '../render.js';
import { CliError, LIMITS, datasetFor, intOption, numberOption, openCheckpoint, type TrainMeta } from './common.js';
import { classIndex, oneHot, sampleContext } from './conditioning.js';
import { checkOutPath, csvHeader, csvRows, outputKind, refuseExisting, writeOutput, writeStreamAtomic, type OutputTarget } from './output.js';

/** The image shape `[C, H, W]` of a flow's examples: its event, or the shape of the images it was trained on. */
export function imageShapeOf(flow: Flow, meta: TrainMeta): [number, number, number] | undefined {
  const event = flow.spec.event;
  if (event.length === 3) return event as [number, number, number];
  const shape = meta.dataShape;
  if (Array.isArray(shape) && shape.length === 3 && sizeOf(shape as number[]) === sizeOf(event)) return shape as [number, number, number];
  return undefined;
}

interface SampleOptions {
  checkpoint: string;
  n: number;
  temperature: number;
  seed: number;
  out: string;
  engine: string;
  columns?: number;
  zoom: number;
  interpolate?: boolean;
  between: string;
  frames: number;
  path: string;
  temperatures?: string;
  dataset?: string;
  dataDir?: string;
  context?: string;
  class?: string;
  force?: boolean;
}

function parsePair(s: string): [number, number] {
  const parts = s.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 2 || !parts.every((p) => Number.isInteger(p) && p >= 0)) throw new CliError(`sample: --between expects two test-image indices 'A,B', got '${s}'`);
  return parts as [number, number];
}

/** `--temperatures 0.5,0.7,1`: finite numbers >= 0. */
export function parseTemperatures(s: string): number[] {
  const cells = s.split(',').map((p) => p.trim());
  const values = cells.map(Number);
  if (cells.some((c) => c === '') || !values.every((v) => Number.isFinite(v) && v >= 0)) throw new CliError(`sample: --temperatures expects comma-separated numbers >= 0, e.g. '0.5,0.7,1', got '${s}'`);
  return values;
}

/** Refuses a PNG grid of more than `LIMITS.pngPixels` pixels, before anything is sampled. */
export function checkGridSize(n: number, image: readonly [number, number, number], zoom: number, columns?: number): void {
  const cols = Math.max(1, Math.min(n, columns ?? Math.ceil(Math.sqrt(n))));
  const rows = Math.ceil(n / cols);
  const width = cols * (image[2] * zoom + 1) + 1;
  const height = rows * (image[1] * zoom + 1) + 1;
  if (width * height > LIMITS.pngPixels) {
    throw new CliError(`sample: a grid of ${n} images at --zoom ${zoom} is ${width}×${height} pixels, above the PNG limit of ${LIMITS.pngPixels} pixels; ask for fewer (--n), a smaller --zoom, or write a CSV`);
  }
}

/**
 * The CSV of `opts.n` samples, produced `LIMITS.sampleBatch` at a time (bounded memory for any
 * --n). The noise is one stream from `opts.seed`, the same values `runtime.sample({ n, seed })`
 * draws in one call, so the file does not depend on the batching.
 */
async function* streamSamples(runtime: FlowRuntime, flow: Flow, opts: SampleOptions, context: Tensor | undefined, columns: string[] | undefined): AsyncGenerator<string> {
  const d = flow.dim;
  const rng = new Rng(opts.seed);
  yield csvHeader(d, columns);
  for (let at = 0; at < opts.n; at += LIMITS.sampleBatch) {
    const m = Math.min(LIMITS.sampleBatch, opts.n - at);
    const z = rng.normals(m * d, opts.temperature);
    if (z.some((v) => Math.abs(v) > FLOAT32_MAX)) throw new CliError(`sample: --temperature ${opts.temperature} scales the base noise beyond float32's range; use a much smaller temperature`);
    const x = await runtime.decode({ data: z, shape: [m, ...flow.spec.event] }, context ? { context } : undefined);
    yield csvRows(x.data, m, d);
  }
}

const FLOAT32_MAX = 3.4028234663852886e38;

async function sample(opts: SampleOptions): Promise<void> {
  checkOutPath(opts.out, '--out', 'sample');
  const kind = outputKind(opts.out, 'sample');
  const target: OutputTarget = { command: 'sample', flag: '--out', force: opts.force === true };
  await refuseExisting(opts.out, target); // before any work
  const { flow, meta } = await openCheckpoint(opts.checkpoint);
  const image = imageShapeOf(flow, meta);
  if (kind === 'png' && !image) throw new CliError(`sample: this flow's examples are vectors of ${flow.dim}; write them as CSV (--out FILE.csv)`);
  if (opts.interpolate && kind !== 'png') throw new CliError('sample: --interpolate draws a PNG strip; use --out FILE.png');
  if (!LATENT_PATHS.includes(opts.path as LatentPath)) throw new CliError(`sample: --path must be ${LATENT_PATHS.join(' or ')}, got '${opts.path}'`);
  const temperatures = opts.temperatures !== undefined ? parseTemperatures(opts.temperatures) : undefined;
  if (temperatures && (kind !== 'png' || opts.interpolate || opts.class === 'all')) throw new CliError('sample: --temperatures draws a PNG grid with one row of --n samples per temperature; use --out FILE.png, without --interpolate or --class all');
  const runtime = await openRuntime(flow, opts.engine);
  try {
    if (opts.interpolate) {
      const dataset = await datasetFor(meta, opts, 'sample --interpolate');
      const [a, b] = parsePair(opts.between);
      const count = splitOf(dataset, 'test').count;
      const outside = [a, b].find((i) => i >= count);
      if (outside !== undefined) throw new CliError(`sample: --between ${opts.between}: index ${outside} is out of range; the test split of ${dataset.name} has ${count} examples (0..${count - 1})`);
      const x = gatherExamples(dataset, 'test', [a, b], flow.spec.event, new Rng(opts.seed));
      if (flow.spec.context) throw new CliError('sample: --interpolate is for unconditional flows');
      const k = opts.frames;
      checkGridSize(k, image!, opts.zoom, k);
      const frames = await interpolateExamples(runtime, x, { frames: k, path: opts.path as LatentPath });
      await writeOutput(opts.out, imageGrid(frames.data, [k, ...image!], { columns: k, zoom: opts.zoom }), target);
      return;
    }
    const k = flow.spec.context?.[0];
    if (opts.class === 'all') {
      // One row per class: n samples of class 0, then class 1, ... (the same noise in every row).
      if (k === undefined) throw new CliError('sample: this flow is not conditional; --class applies to flows trained with --condition-on label');
      classIndex(meta, k, '0');
      if (kind !== 'png' || !image) throw new CliError('sample: --class all draws a PNG grid with one row per class; use --out FILE.png');
      checkGridSize(k * opts.n, image, opts.zoom, opts.n);
      const rows: Tensor[] = [];
      for (let c = 0; c < k; c++) rows.push(await runtime.sample({ n: opts.n, temperature: opts.temperature, seed: opts.seed, context: { data: oneHot(c, k), shape: [k] } }));
      const all = new Float64Array(k * rows[0]!.data.length);
      rows.forEach((r, c) => all.set(r.data, c * r.data.length));
      await writeOutput(opts.out, imageGrid(all, [k * opts.n, ...image], { zoom: opts.zoom, columns: opts.n }), target);
      return;
    }
    const context = sampleContext(meta, k, opts);
    if (temperatures) {
      checkGridSize(temperatures.length * opts.n, image!, opts.zoom, opts.n);
      const x = await temperatureSweep(runtime, { n: opts.n, temperatures, seed: opts.seed, ...(context ? { context } : {}) });
      await writeOutput(opts.out, imageGrid(x.data, [temperatures.length * opts.n, ...image!], { zoom: opts.zoom, columns: opts.n }), target);
      return;
    }
    if (kind === 'png') {
      checkGridSize(opts.n, image!, opts.zoom, opts.columns);
      const x = await runtime.sample({ n: opts.n, temperature: opts.temperature, seed: opts.seed, ...(context ? { context } : {}) });
      await writeOutput(opts.out, imageGrid(x.data, [opts.n, ...image!], { zoom: opts.zoom, ...(opts.columns ? { columns: opts.columns } : {}) }), target);
    } else {
      // A flow trained on a user's table writes its samples under the table's column names.
      const columns = Array.isArray(meta.columns) && meta.columns.length === flow.dim ? (meta.columns as string[]) : undefined;
      await writeStreamAtomic(opts.out, streamSamples(runtime, flow, opts, context, columns), target);
    }
  } finally {
    await runtime.dispose();
  }
}

export function registerSample(program: Command): void {
  program
    .command('sample')
    .description('draw samples from a checkpoint: a PNG grid for images, CSV for vectors; a temperature sweep; or --interpolate between two test images')
    .requiredOption('--checkpoint <dir>', 'checkpoint folder')
    .requiredOption('--out <file>', 'output file: .png (images) or .csv')
    .option('--n <n>', `number of samples (a CSV is written ${LIMITS.sampleBatch} at a time; a PNG grid is limited to ${LIMITS.pngPixels} pixels)`, intOption(1), 64)
    .option('--temperature <t>', 'scale of the base noise', numberOption((v) => v >= 0, 'a number >= 0'), 1)
    .option('--seed <n>', 'noise seed (the same seed gives the same samples on every engine)', intOption(0), 0)
    .option('--engine <engine>', 'engine: reference, tfjs-wasm, ort-node-cpu, ...', DEFAULT_ENGINE)
    .option('--columns <n>', `images per row of the grid (default ⌈√n⌉, at most ${LIMITS.columns})`, intOption(1, LIMITS.columns))
    .option('--zoom <n>', `pixel scale of the PNG (at most ${LIMITS.zoom})`, intOption(1, LIMITS.zoom), 2)
    .option('--temperatures <list>', "a PNG grid with one row of --n samples (the same noise) per temperature, e.g. '0.3,0.5,0.7,1'")
    .option('--interpolate', 'encode two test images and decode a path between their latents (a PNG strip)')
    .option('--path <kind>', "with --interpolate: 'slerp' (spherical: keeps the latent norm) or 'linear' (a straight line, whose middle fades on a Glow)", 'slerp')
    .option('--between <a,b>', 'with --interpolate: indices of the two test images', '0,1')
    .option('--frames <n>', 'with --interpolate: images in the strip, both ends included', intOption(2, LIMITS.frames), 8)
    .option('--context <values>', 'conditional flows: the context, comma-separated (as many values as the flow was conditioned on)')
    .option('--class <k>', "class-conditional flows: a class index or name, or 'all' for a PNG grid with one row of --n samples per class")
    .option('--force', 'replace --out if it exists')
    .option('--dataset <name>', 'with --interpolate: dataset (default: the checkpoint\'s)')
    .option('--data-dir <dir>', 'folder of the Fashion-MNIST IDX files')
    .action(sample);
}
