import type { Command } from 'commander';
import { DEFAULT_ENGINE, openRuntime } from '../engines.js';
import { evaluate } from '../evaluate.js';
import { LIMITS, datasetFor, intOption, openCheckpoint } from './common.js';

export interface EvalCommandOptions {
  checkpoint: string;
  dataset?: string;
  data?: string;
  dataDir?: string;
  engine: string;
  split: 'train' | 'test';
  batch: number;
  limit?: number;
  seed: number;
}

/** Runs `eval` and returns the JSON object it prints. */
export async function runEval(opts: EvalCommandOptions): Promise<Record<string, unknown>> {
  const { flow, meta } = await openCheckpoint(opts.checkpoint);
  const dataset = await datasetFor(meta, opts, 'eval');
  const runtime = await openRuntime(flow, opts.engine);
  try {
    const r = await evaluate(runtime, dataset, {
      event: flow.spec.event,
      split: opts.split,
      batch: opts.batch,
      seed: opts.seed,
      ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
    });
    const out: Record<string, unknown> = { ...r, dataset: dataset.name, split: opts.split };
    if (dataset.kind === 'vector' && dataset.truth) {
      const h = dataset.truth.entropy();
      out.entropy = { value: h.value, stdErr: h.standardError, samples: h.samples };
    }
    return out;
  } finally {
    await runtime.dispose();
  }
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('test-set negative log-likelihood of a checkpoint, as JSON on stdout')
    .requiredOption('--checkpoint <dir>', 'checkpoint folder')
    .option('--dataset <name>', 'dataset (default: the one the checkpoint was trained on)')
    .option('--data <file>', "a data file (as for train --data) whose every row is evaluated, read with the checkpoint's columns (default: the checkpoint's own test split)")
    .option('--data-dir <dir>', 'folder of the Fashion-MNIST IDX files')
    .option('--engine <engine>', 'engine: reference, tfjs-wasm, tfjs-cpu, ort-node-cpu, ...', DEFAULT_ENGINE)
    .option('--split <split>', "'test' or 'train'", 'test')
    .option('--batch <n>', `examples per call (at most ${LIMITS.batch})`, intOption(1, LIMITS.batch), 256)
    .option('--limit <n>', 'evaluate only the first n examples', intOption(1))
    .option('--seed <n>', 'dequantisation noise seed (images)', intOption(0), 0)
    .addHelpText(
      'after',
      '\nOutput: { "nll": nats per example (images: of the 8-bit data, = nllDequantized + D·log 256), "nllStdErr",\n' +
        '  "bitsPerDim" (images) or "natsPerDim" (vectors), "nllMedian" (and "bitsPerDimMedian"), "worst" (the 3\n' +
        '  examples of highest NLL: index in the split and nll), "n", "engine", "dataset", "split";\n' +
        '  for the 2-D mixture also "kl" (paired estimate of KL(p‖q)) and "entropy" (Monte Carlo, with its standard error) }',
    )
    .action(async (opts: EvalCommandOptions) => {
      if (opts.split !== 'test' && opts.split !== 'train') throw new Error(`eval: --split must be 'test' or 'train', got '${String(opts.split)}'`);
      process.stdout.write(`${JSON.stringify(await runEval(opts), null, 2)}\n`);
    });
}
