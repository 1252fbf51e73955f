import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { FlowRuntime, Tensor } from '@bijective/core';
import { DEFAULT_ENGINE, openRuntime } from '../engines.js';
import { heatmap } from '../render.js';
import { CliError, LIMITS, intOption, openCheckpoint } from './common.js';
import { sampleContext } from './conditioning.js';
import { checkOutPath, parseCsvPoints, refuseExisting, toCsv, writeOutput, type OutputTarget } from './output.js';

interface DensityOptions {
  checkpoint: string;
  points?: string;
  out?: string;
  heatmap?: string;
  range: string;
  size: number;
  engine: string;
  batch: number;
  force?: boolean;
  context?: string;
  class?: string;
}

async function logProbBatched(runtime: FlowRuntime, data: Float64Array, n: number, event: readonly number[], batch: number, context?: Tensor): Promise<Float64Array> {
  const d = data.length / n;
  const out = new Float64Array(n);
  for (let at = 0; at < n; at += batch) {
    const m = Math.min(batch, n - at);
    const lp = await runtime.logProb({ data: data.subarray(at * d, (at + m) * d), shape: [m, ...event] }, context ? { context } : undefined);
    out.set(lp, at);
  }
  return out;
}

export function parseRange(s: string): [number, number, number, number] {
  const v = s.split(',').map((p) => Number(p.trim()));
  if (v.length !== 4 || !v.every(Number.isFinite) || !(v[0]! < v[1]! && v[2]! < v[3]!)) {
    throw new CliError(`density: --range expects 'xmin,xmax,ymin,ymax' with xmin < xmax and ymin < ymax, got '${s}'`);
  }
  return v as [number, number, number, number];
}

/**
 * The grid of pixel centres, row-major with row 0 at the top (y = ymax side), so the
 * picture reads like a plot.
 */
export function gridPoints(range: readonly [number, number, number, number], size: number): Float64Array {
  const [x0, x1, y0, y1] = range;
  const pts = new Float64Array(2 * size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      pts[2 * (r * size + c)] = x0 + ((c + 0.5) * (x1 - x0)) / size;
      pts[2 * (r * size + c) + 1] = y1 - ((r + 0.5) * (y1 - y0)) / size;
    }
  }
  return pts;
}

async function density(opts: DensityOptions): Promise<void> {
  if (opts.points === undefined && opts.heatmap === undefined) throw new CliError('density: pass --points FILE.csv, --heatmap FILE.png, or both');
  const outTarget: OutputTarget = { command: 'density', flag: '--out', force: opts.force === true };
  const heatTarget: OutputTarget = { command: 'density', flag: '--heatmap', force: opts.force === true };
  for (const [path, target] of [[opts.out, outTarget], [opts.heatmap, heatTarget]] as const) {
    if (path === undefined) continue;
    checkOutPath(path, target.flag, 'density');
    await refuseExisting(path, target);
  }
  const { flow, meta } = await openCheckpoint(opts.checkpoint);
  const event = flow.spec.event;
  // A conditional flow's density p(x | c) at one context for every point (--context or --class).
  const context = sampleContext(meta, flow.spec.context?.[0], opts, 'density');
  if (opts.heatmap !== undefined && !(event.length === 1 && event[0] === 2)) {
    throw new CliError(`density: --heatmap draws 2-D flows; this flow's event is [${event.join(', ')}]`);
  }
  let points: ReturnType<typeof parseCsvPoints> | undefined;
  if (opts.points !== undefined) {
    let text: string;
    try {
      text = await readFile(opts.points, 'utf8');
    } catch (e) {
      throw new CliError(`density: cannot read ${opts.points} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    points = parseCsvPoints(text, opts.points);
    if (event.length !== 1 || points.d !== event[0]) {
      throw new CliError(`density: ${opts.points} has points of ${points.d} values, the flow models [${event.join(', ')}]`);
    }
  }
  const runtime = await openRuntime(flow, opts.engine);
  try {
    if (points) {
      const lp = await logProbBatched(runtime, points.data, points.n, event, opts.batch, context);
      const rows = new Float64Array(points.n * (points.d + 1));
      for (let i = 0; i < points.n; i++) {
        rows.set(points.data.subarray(i * points.d, (i + 1) * points.d), i * (points.d + 1));
        rows[i * (points.d + 1) + points.d] = lp[i]!;
      }
      const csv = toCsv(rows, points.n, points.d + 1, [...Array.from({ length: points.d }, (_, j) => `x${j}`), 'log_density']);
      if (opts.out !== undefined) await writeOutput(opts.out, csv, outTarget);
      else process.stdout.write(csv);
    }
    if (opts.heatmap !== undefined) {
      const grid = gridPoints(parseRange(opts.range), opts.size);
      const lp = await logProbBatched(runtime, grid, opts.size * opts.size, event, opts.batch, context);
      await writeOutput(opts.heatmap, heatmap(lp.map(Math.exp), opts.size, opts.size), heatTarget);
    }
  } finally {
    await runtime.dispose();
  }
}

export function registerDensity(program: Command): void {
  program
    .command('density')
    .description('log-density of points (CSV), and for 2-D flows a heat map of the density (PNG)')
    .requiredOption('--checkpoint <dir>', 'checkpoint folder')
    .option('--points <file>', 'CSV of points, one per line (an optional header line is skipped)')
    .option('--out <file>', 'write the points with their log-density here (CSV) instead of stdout')
    .option('--heatmap <file>', '2-D flows: draw the density over --range as a PNG (viridis colour map)')
    .option('--range <xmin,xmax,ymin,ymax>', 'heat map window', '-4,4,-4,4')
    .option('--size <n>', `heat map width and height in pixels (at most ${LIMITS.heatmapSize})`, intOption(2, LIMITS.heatmapSize), 256)
    .option('--engine <engine>', 'engine: reference, tfjs-wasm, ort-node-cpu, ...', DEFAULT_ENGINE)
    .option('--batch <n>', `points per call (at most ${LIMITS.batch})`, intOption(1, LIMITS.batch), 4096)
    .option('--force', 'replace --out / --heatmap if they exist')
    .option('--context <values>', 'conditional flows: the context c of p(x | c) for every point, comma-separated')
    .option('--class <k>', 'class-conditional flows: the class (index or name) of p(x | class) for every point')
    .action(density);
}
