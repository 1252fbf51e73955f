import { join } from 'node:path';
import type { Command } from 'commander';
import { openCheckpoint } from './common.js';

interface ExportOptions {
  checkpoint: string;
  out: string;
  triton?: boolean;
  loops?: 'unroll' | 'loop' | 'auto';
}

/** Scalar training metrics for the models' `metadata_props`. */
function scalarMetrics(meta: Record<string, unknown>): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  const test = (meta.metrics as { test?: Record<string, unknown> } | undefined)?.test ?? {};
  for (const [k, v] of Object.entries(test)) if (['number', 'string', 'boolean'].includes(typeof v)) out[`test.${k}`] = v as number | string | boolean;
  for (const k of ['preset', 'dataset', 'steps']) if (['number', 'string'].includes(typeof meta[k])) out[k] = meta[k] as number | string;
  return out;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export a checkpoint to ONNX: log_prob.onnx and sample.onnx (and a Triton model repository)')
    .requiredOption('--checkpoint <dir>', 'checkpoint folder')
    .requiredOption('--out <dir>', 'output folder')
    .option('--triton', 'also write a Triton Inference Server model repository to <out>/triton')
    .option('--loops <how>', "sequential directions (MAF sampling, IAF density): 'unroll', 'loop' (ONNX Loop) or 'auto' (default: short loops unrolled)")
    .action(async (opts: ExportOptions) => {
      if (opts.loops !== undefined && !['unroll', 'loop', 'auto'].includes(opts.loops)) throw new Error(`export: --loops must be 'unroll', 'loop' or 'auto', got '${String(opts.loops)}'`);
      const { flow, meta } = await openCheckpoint(opts.checkpoint);
      const { writeOnnx } = await import('@bijective/backend-onnx/node');
      const paths = await writeOnnx(opts.out, flow, {
        metrics: scalarMetrics(meta),
        ...(opts.loops ? { loops: opts.loops } : {}),
        ...(opts.triton ? { triton: join(opts.out, 'triton') } : {}),
      });
      process.stdout.write(`${paths.logProb}\n${paths.sample}\n${opts.triton ? `${join(opts.out, 'triton')}\n` : ''}`);
    });
}
