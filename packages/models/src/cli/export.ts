import { join } from 'node:path';
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { CliError, openCheckpoint } from './common.js';
import { checkOutPath, writeError } from './output.js';

interface ExportOptions {
  checkpoint: string;
  out: string;
  triton?: boolean;
  loops?: 'unroll' | 'loop' | 'auto';
  force?: boolean;
}

/**
 * Refuses an export folder that is a file, or that already holds a model (`log_prob.onnx`,
 * `sample.onnx`, a Triton repository) unless `--force`: another checkpoint's export is not
 * replaced by accident.
 */
async function checkExportFolder(opts: ExportOptions): Promise<void> {
  checkOutPath(opts.out, '--out', 'export');
  const st = await lstat(opts.out).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw new CliError(`export: --out ${opts.out} is not a folder; name a folder for log_prob.onnx and sample.onnx`);
  const { ONNX_FILES } = await import('@bijective/backend-onnx/node');
  const held = [ONNX_FILES.logProb, ONNX_FILES.sample, ...(opts.triton ? ['triton'] : [])].filter((f) => existsSync(join(opts.out, f)));
  if (held.length > 0 && !opts.force) throw new CliError(`export: ${opts.out} already holds ${held.join(', ')}; pass --force to replace them, or choose another --out`);
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
    .option('--force', 'replace the models already in --out')
    .option('--loops <how>', "sequential directions (MAF sampling, IAF density): 'unroll', 'loop' (ONNX Loop) or 'auto' (default: short loops unrolled)")
    .action(async (opts: ExportOptions) => {
      if (opts.loops !== undefined && !['unroll', 'loop', 'auto'].includes(opts.loops)) throw new Error(`export: --loops must be 'unroll', 'loop' or 'auto', got '${String(opts.loops)}'`);
      await checkExportFolder(opts);
      const { flow, meta } = await openCheckpoint(opts.checkpoint);
      const { writeOnnx } = await import('@bijective/backend-onnx/node');
      const paths = await writeOnnx(opts.out, flow, {
        metrics: scalarMetrics(meta),
        ...(opts.loops ? { loops: opts.loops } : {}),
        ...(opts.triton ? { triton: join(opts.out, 'triton') } : {}),
      }).catch((e: unknown) => {
        throw writeError(e, opts.out, 'export');
      });
      process.stdout.write(`${paths.logProb}\n${paths.sample}\n${opts.triton ? `${join(opts.out, 'triton')}\n` : ''}`);
    });
}
