import { Command, InvalidArgumentError } from 'commander';
import { FULL_BATCHES, FULL_PRESETS, QUICK_BATCHES, QUICK_PRESETS, type CliOptions } from './plan.js';
import { BROWSER_ENGINES, NODE_ENGINES } from './engines.js';
import { TASKS, type Task } from './results.js';

function list(v: string): string[] {
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new InvalidArgumentError('expected a comma-separated list');
  return items;
}

function positiveInts(v: string): number[] {
  return list(v).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`'${s}' is not a positive integer`);
    return n;
  });
}

function positiveInt(v: string): number {
  return positiveInts(v)[0]!;
}

function nonNegative(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`'${v}' is not a non-negative number`);
  return n;
}

function tasks(v: string): Task[] {
  return [
    ...new Set(
      list(v).map((t) => {
        if (!(TASKS as readonly string[]).includes(t)) throw new InvalidArgumentError(`unknown task '${t}'; tasks are ${TASKS.join(', ')}`);
        return t as Task;
      }),
    ),
  ];
}

/** The `bench` command line (commander). */
export function benchCommand(): Command {
  return new Command('bench')
    .description(
      'Cross-engine benchmark of likelihood evaluation (logProb), sampling and training steps (train), in Node and in headless Chromium. ' +
        `Default: a quick run (presets ${QUICK_PRESETS.join(', ')}; batch ${QUICK_BATCHES.join(', ')}) on every available engine.`,
    )
    .option('--full', `every preset (${FULL_PRESETS.join(', ')}), batch ${FULL_BATCHES.join(', ')}, longer timing`)
    .option('--engines <list>', `engines to run (comma-separated; node: ${NODE_ENGINES.join(', ')}; chromium: ${BROWSER_ENGINES.join(', ')}; prefix node/ or chromium/ for one host)`, list)
    .option('--presets <list>', 'presets to run (comma-separated)', list)
    .option('--batch <list>', 'batch sizes (comma-separated)', positiveInts)
    .option('--tasks <list>', 'tasks: logProb, sample, train (comma-separated; default logProb,sample)', tasks)
    .option('--no-browser', 'skip the Chromium engines')
    .option('--chromium <path>', 'the Chromium executable (default: $CHROMIUM_PATH, then /usr/bin/chromium, ...)')
    .option('--out <dir>', 'output folder (default: bench-results/<timestamp>)')
    .option('--check-batch <n>', 'batch of the correctness check against the reference (default 4)', positiveInt)
    .option('--seed <n>', 'base seed of the inputs (default 1)', positiveInt)
    .option('--min-time <ms>', 'minimum timed time per cell', nonNegative)
    .option('--max-time <ms>', 'time cap per cell (stops repetition before the precision target)', nonNegative)
    .option('--min-samples <n>', 'minimum timed samples per cell', positiveInt)
    .option('--warmup <ms>', 'minimum warm-up time per cell', nonNegative)
    .option('--quiet', 'print only the summary')
    .showHelpAfterError();
}

export type ParsedCli = CliOptions & { quiet?: boolean };

export function parseCli(argv: readonly string[]): ParsedCli {
  const cmd = benchCommand();
  cmd.parse([...argv], { from: 'user' });
  return cmd.opts<ParsedCli>();
}
