import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createFlow, openGradients, trainFlow, type Flow, type TrainResult } from '@bijective/core';
import { FLOW_FILE } from '@bijective/core/node';
import { checkEventFits } from '../datasets/batches.js';
import { datasetShape, loadDataset } from '../datasets/registry.js';
import { loadBackends, openRuntime } from '../engines.js';
import { evaluate, nonFiniteNote, type EvalResult } from '../evaluate.js';
import { getPreset } from '../presets/registry.js';
import { CliError, commandLine, exitStatus, intOption, numberOption, trainData, type TrainMeta } from './common.js';
import { checkConditionOn, conditionalSpec, withClassContext, type ConditioningOptions } from './conditioning.js';
import { dataFileSpec, fitDataStandardize, loadUserData, specForData, type DataOptions } from './data.js';
import {
  SIGNALS,
  addRunOptions,
  checkDecay,
  checkResumeState,
  checkRunFolder,
  checkTrains,
  checkpointIOWith,
  decayOf,
  doneLine,
  inRunFolder,
  previousCommands,
  runRecord,
  saveRunMetrics,
  startRun,
  withRecordedSchedule,
  type RecordedRun,
  type RunCommandOptions,
  type StopSignal,
} from './runner.js';

export { METRICS_FILE } from './runner.js';

export interface TrainCommandOptions extends RunCommandOptions, DataOptions, ConditioningOptions {
  preset?: string;
  dataset?: string;
  dataDir?: string;
  dataSeed?: number;
  epochs?: number;
  evalEvery?: number;
  evalExamples?: number;
}

/** Runs `train`; returns the test metrics written into the checkpoint. */
export async function runTrain(opts: TrainCommandOptions, argv: readonly string[]): Promise<{ dir: string; result: TrainResult; test: EvalResult & Record<string, unknown>; signal?: StopSignal }> {
  if (opts.preset === undefined && !opts.resume) throw new CliError("train: pass --preset <name> (see `bijective presets`)");
  if (opts.preset === undefined && opts.out === undefined) throw new CliError('train --resume: pass --out <run folder> (or --preset, for runs/<preset>)');
  if (opts.preset !== undefined) getPreset(opts.preset); // an unknown name is refused before anything is written
  await checkTrains(opts.engine);
  if (opts.steps !== undefined && opts.epochs !== undefined) throw new CliError('train: pass --steps or --epochs, not both');
  const dir = opts.out ?? join('runs', opts.preset!);
  await checkRunFolder(dir, 'train');
  return inRunFolder(dir, 'train', () => lockedTrain(opts, argv, dir));
}

/**
 * What a resumed run keeps from its checkpoint: preset, dataset, data seed, batch and seed. A
 * flag left out takes the checkpoint's value; one that contradicts it is refused, by its name.
 * The schedule (steps, lr, warm-up, decay, clipping) left out is the checkpoint's too
 * ({@link withRecordedSchedule}).
 */
async function resumedOptions(dir: string, opts: TrainCommandOptions): Promise<TrainCommandOptions> {
  const file = JSON.parse(await readFile(join(dir, FLOW_FILE), 'utf8')) as { meta?: Partial<TrainMeta> & { run?: RecordedRun } };
  const m = file.meta ?? {};
  const saved: [keyof TrainCommandOptions, string, unknown][] = [
    ['preset', '--preset', m.preset],
    ['dataset', '--dataset', m.dataset],
    ['dataSeed', '--data-seed', m.dataSeed],
    ['batch', '--batch', m.run?.batch],
    ['seed', '--seed', m.run?.seed],
  ];
  const out: Record<string, unknown> = { ...opts };
  for (const [key, flag, value] of saved) {
    if (value === undefined) continue;
    if (opts[key] !== undefined && opts[key] !== value) {
      throw new CliError(`train --resume: ${flag} ${String(opts[key])} contradicts the checkpoint in ${dir}, made with ${flag} ${String(value)}; drop ${flag} (a resumed run keeps it)`);
    }
    out[key] = value;
  }
  if (out.preset === undefined) throw new CliError(`train --resume: the checkpoint in ${dir} does not say its preset; pass --preset`);
  return withRecordedSchedule(out as unknown as TrainCommandOptions, m.run);
}

async function lockedTrain(given: TrainCommandOptions, argv: readonly string[], dir: string): Promise<{ dir: string; result: TrainResult; test: EvalResult & Record<string, unknown>; signal?: StopSignal }> {
  checkResumeState(dir, given.resume, 'train');
  const resumed = given.resume ? await resumedOptions(dir, given) : given;
  const opts = { ...resumed, dataSeed: resumed.dataSeed ?? 1, seed: resumed.seed ?? 0 };
  const preset = getPreset(opts.preset!);
  if (opts.data !== undefined && given.dataset !== undefined) throw new CliError('train: pass --dataset NAME or --data FILE, not both');
  if (opts.data === undefined && (opts.test !== undefined || opts.testFraction !== undefined || opts.columns !== undefined)) {
    throw new CliError('train: --test, --test-fraction and --columns apply to --data FILE');
  }
  const conditionOn = checkConditionOn(opts.conditionOn);
  const contextColumns = opts.contextColumns?.split(',').map((c) => c.trim()).filter((c) => c !== '');
  if (contextColumns && opts.data === undefined) throw new CliError('train: --context-columns applies to --data FILE (a table or an [N, D] array)');
  const dataSpec = opts.data !== undefined ? dataFileSpec(opts, { ...(contextColumns ? { contextColumns } : {}), ...(conditionOn ? { conditionOn } : {}) }) : undefined;
  let dataset = dataSpec
    ? await loadUserData(dataSpec)
    : await loadDataset(opts.dataset ?? preset.dataset, { seed: opts.dataSeed, ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}) });
  if (!dataSpec && conditionOn) dataset = await withClassContext(dataset, opts.dataDir, 'train');
  const baseSpec = dataSpec ? specForData(preset, dataset, opts.standardize !== false) : preset.spec();
  const flow: Flow = createFlow(conditionalSpec(baseSpec, dataset, `preset '${preset.name}'`), { seed: opts.seed });
  if (dataSpec && !given.resume) fitDataStandardize(flow, dataset);
  const event = flow.spec.event;
  checkEventFits(dataset, event, `preset '${preset.name}'`);
  const image = dataset.kind === 'image';
  const batch = opts.batch ?? preset.training.batch;
  const lr = opts.lr ?? preset.training.lr;
  const steps = opts.epochs === undefined ? (opts.steps ?? preset.training.steps) : undefined;
  const data = trainData(dataset, 'train', event);
  if (data.shape[0] === 0) throw new CliError(`train: the training split of ${dataset.name} is empty`);
  const totalSteps = steps ?? opts.epochs! * Math.floor(data.shape[0]! / Math.min(batch, data.shape[0]!));
  const warmup = opts.warmup ?? Math.min(200, Math.floor(totalSteps / 10));
  const evalEvery = opts.evalEvery ?? Math.max(1, Math.ceil(totalSteps / 10));
  const validation = trainData(dataset, 'test', event, opts.evalExamples ?? (image ? 1000 : undefined));
  if (validation.shape[0] === 0) throw new CliError(`train: the test split of ${dataset.name} is empty (it is evaluated during and after training)`);

  const meta: TrainMeta = {
    preset: preset.name,
    dataset: dataset.name,
    dataShape: datasetShape(dataset),
    ...(dataset.kind === 'vector' || dataSpec ? { dataSeed: opts.dataSeed } : {}),
    ...(dataSpec ? { data: dataSpec, ...(dataset.kind === 'vector' && dataset.columns ? { columns: dataset.columns } : {}) } : {}),
    ...(!dataSpec && conditionOn ? { conditionOn } : {}),
    ...(dataset.context ? { context: { kind: dataset.context.kind, names: dataset.context.names } } : {}),
    ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
    command: commandLine(argv),
    // Every command of the run, in order (a resumed run was made by all of them).
    commands: [...(opts.resume ? await previousCommands(dir) : []), commandLine(argv)],
    run: runRecord(opts, { batch, lr, warmup, seed: opts.seed, steps: totalSteps }),
  };
  await loadBackends(opts.engine);
  const gradients = await openGradients(opts.engine);
  // The trainer's checkpoints carry its own state in `meta.training`; ours (preset, dataset,
  // command) is merged in so every checkpoint of the run says how it was made.
  const io = checkpointIOWith(meta);
  const session = startRun({ dir, unit: image ? 'img' : 'ex', batch, ...(opts.quiet ? { quiet: true } : {}), ...(opts.maxMinutes !== undefined ? { maxMinutes: opts.maxMinutes } : {}), logEvery: opts.logEvery });
  const { log } = session;
  log.append({ kind: 'start', resume: Boolean(opts.resume), ...meta });
  const started = performance.now();
  let result: TrainResult;
  try {
    result = await trainFlow(gradients, flow, data, {
      ...(steps !== undefined ? { steps } : { epochs: opts.epochs! }),
      batchSize: batch,
      lr,
      warmupSteps: warmup,
      decay: decayOf(opts.decay),
      ...(opts.clipGradNorm !== undefined ? { clipGradNorm: opts.clipGradNorm } : {}),
      seed: opts.seed,
      ...(image ? { dequantize: { bins: 256 } } : {}),
      validation,
      evalEvery,
      checkpoint: { dir, every: opts.checkpointEvery },
      ...(opts.resume ? { resume: dir } : {}),
      checkpointIO: io,
      signal: session.signal,
      onStep: (p) => session.onStep(p),
    });
  } finally {
    await session.close();
  }
  const elapsed = (performance.now() - started) / 1000;
  // The trainer evaluates every `evalEvery` steps and once more at the end; log that last one
  // too when the run did not end on a multiple (a stopped or resumed run).
  if (result.validation && result.steps % evalEvery !== 0) {
    const v = result.validation;
    log.append({ kind: 'eval', step: result.steps - 1, loss: v.loss, [v.metric.name]: v.metric.value, examples: validation.shape[0], final: true });
  }

  // Final evaluation on the whole test set, recorded in flow.json (weights are unchanged).
  const runtime = await openRuntime(flow, opts.engine);
  let test: EvalResult & Record<string, unknown>;
  try {
    test = { ...(await evaluate(runtime, dataset, { event })) };
  } finally {
    await runtime.dispose();
  }
  if (dataset.kind === 'vector' && dataset.truth) {
    const h = dataset.truth.entropy();
    test.entropy = { value: h.value, stdErr: h.standardError, samples: h.samples };
  }
  await saveRunMetrics(dir, session, result, elapsed, { test }, { kind: 'test', ...test });
  const signal = session.stoppedBy();
  return { dir, result, test, ...(signal ? { signal } : {}) };
}

export function registerTrain(program: Command, argv: readonly string[]): void {
  const command = program
    .command('train')
    .description('train a preset on a dataset (on any engine that trains: see `bijective engines`), with checkpoints, periodic test evaluation and metrics.jsonl')
    .option('--preset <name>', "a named preset (see `bijective presets`); a --resume takes the checkpoint's")
    .option('--dataset <name>', "dataset (default: the preset's; see `bijective datasets`)")
    .option('--data-dir <dir>', 'folder of the Fashion-MNIST IDX gzip files (default /usr/share/datasets/fashion-mnist)')
    .option('--data <file>', 'your own data: a .csv/.tsv table, a .npy array (float32/float64/uint8), or a folder of PNG images (see the README)')
    .option('--columns <names>', 'with --data: the table columns to model, by header name or 0-based index, comma-separated (default: all)')
    .option('--test <file>', 'with --data: a separate test file (else a seeded split of --data)')
    .option('--test-fraction <f>', 'with --data: fraction of the rows held out for testing (default 0.1)', numberOption((v) => v > 0 && v < 1, 'a number in (0, 1)'))
    .option('--context-columns <names>', 'with --data: columns to condition on (a conditional flow p(x | c)), by name or 0-based index, comma-separated')
    .option('--condition-on <what>', "'label': a class-conditional flow on one-hot classes (Fashion-MNIST, or --data DIR with one sub-folder per class)")
    .option('--no-standardize', 'with --data vectors: do not put a standardisation layer (fitted on the training split) first in the flow')
    .option('--data-seed <n>', 'seed of the generated 2-D datasets and of the --data train/test split (default 1; a --resume takes the checkpoint\'s)', intOption(0))
    .option('--epochs <n>', 'number of epochs (instead of --steps)', intOption(1))
    .option('--eval-every <n>', 'evaluate on test examples every n steps (default steps/10)', intOption(1))
    .option('--eval-examples <n>', 'test examples in each periodic evaluation (default: 1000 images, every 2-D point)', intOption(1));
  addRunOptions(command, { seed: 'the initial weights, batch order and dequantisation noise', out: 'default runs/<preset>' }).action(async (opts: TrainCommandOptions) => {
      checkDecay(opts.decay, 'train');
      const { dir, result, test, signal } = await runTrain(opts, argv);
      if (signal) exitStatus.code = SIGNALS[signal];
      const metric = test.bitsPerDim !== undefined ? `bits/dim ${test.bitsPerDim.toFixed(4)} (median ${test.bitsPerDimMedian!.toFixed(4)})` : `nats/dim ${test.natsPerDim!.toFixed(4)}`;
      const kl = test.kl ? `, KL to the true density ${test.kl.value.toFixed(4)} ± ${test.kl.stdErr.toFixed(4)} nats` : '';
      process.stdout.write(
        doneLine(result) +
          `test: nll ${test.nll.toFixed(4)} ± ${test.nllStdErr.toFixed(4)} nats, ${metric} (${test.n} examples${nonFiniteNote(test)})${kl}\n` +
          `checkpoint: ${dir}\n`,
      );
    });
}
