import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createFlow, openGradients, trainFlow, type CheckpointIO, type Flow, type TrainData, type TrainProgress, type TrainResult } from '@bijective/core';
import { FLOW_FILE, fsCheckpointIO, loadCheckpoint, saveCheckpoint } from '@bijective/core/node';
import { checkEventFits } from '../datasets/batches.js';
import { datasetShape, loadDataset, type Dataset } from '../datasets/registry.js';
import { DEFAULT_ENGINE, listAllEngines, loadBackends, openRuntime, statusOf } from '../engines.js';
import { evaluate, type EvalResult } from '../evaluate.js';
import { getPreset } from '../presets/registry.js';
import { CliError, LIMITS, commandLine, exitStatus, intOption, numberOption, type TrainMeta } from './common.js';
import { checkConditionOn, conditionalSpec, withClassContext, type ConditioningOptions } from './conditioning.js';
import { dataFileSpec, fitDataStandardize, loadUserData, specForData, type DataOptions } from './data.js';
import { MetricsLog } from './metricsLog.js';
import { checkOutPath, writeError } from './output.js';
import { lockRunFolder } from './runLock.js';
import { progressDisplay } from './progress.js';

export const METRICS_FILE = 'metrics.jsonl';

export interface TrainCommandOptions extends DataOptions, ConditioningOptions {
  preset?: string;
  dataset?: string;
  dataDir?: string;
  dataSeed?: number;
  engine: string;
  steps?: number;
  epochs?: number;
  batch?: number;
  lr?: number;
  warmup?: number;
  decay: 'none' | 'cosine';
  clipGradNorm?: number;
  out?: string;
  resume?: boolean;
  seed?: number;
  evalEvery?: number;
  evalExamples?: number;
  checkpointEvery: number;
  logEvery: number;
  maxMinutes?: number;
  quiet?: boolean;
}

/** The first `count` examples of a split as the trainer's data (bytes for images, dequantised by the trainer). */
function trainData(dataset: Dataset, split: 'train' | 'test', event: readonly number[], count?: number): TrainData {
  if (dataset.kind === 'vector') {
    const n = Math.min(count ?? Infinity, split === 'train' ? dataset.nTrain : dataset.nTest);
    const values = split === 'train' ? dataset.train : dataset.test;
    return { data: values.subarray(0, n * dataset.dim), shape: [n, ...event], ...contextOf(dataset, split, n) };
  }
  const set = dataset[split];
  const n = Math.min(count ?? Infinity, set.count);
  const size = set.shape[0] * set.shape[1] * set.shape[2];
  return { data: set.data.subarray(0, n * size), shape: [n, ...event], ...contextOf(dataset, split, n) };
}

/** The first `n` context rows of a conditional dataset, as the trainer takes them. */
function contextOf(dataset: Dataset, split: 'train' | 'test', n: number): Pick<TrainData, 'context'> {
  const c = dataset.context;
  return c ? { context: { data: c[split].subarray(0, n * c.dim), shape: [n, c.dim] } } : {};
}

function eventRecord(p: TrainProgress): Record<string, unknown> {
  if (p.kind === 'step' || p.kind === 'eval') {
    const { metric, ...rest } = p;
    return { ...rest, [metric.name]: metric.value };
  }
  return { ...p };
}

/** The commands recorded in an earlier checkpoint of the run. */
async function previousCommands(dir: string): Promise<string[]> {
  const file = JSON.parse(await readFile(join(dir, FLOW_FILE), 'utf8')) as { meta?: { commands?: unknown; command?: unknown } };
  const m = file.meta ?? {};
  if (Array.isArray(m.commands)) return m.commands.map(String);
  return typeof m.command === 'string' ? [m.command] : [];
}

/** Runs `train`; returns the test metrics written into the checkpoint. */
export async function runTrain(opts: TrainCommandOptions, argv: readonly string[]): Promise<{ dir: string; result: TrainResult; test: EvalResult & Record<string, unknown>; signal?: 'SIGINT' | 'SIGTERM' | 'SIGHUP' }> {
  if (opts.preset === undefined && !opts.resume) throw new CliError("train: pass --preset <name> (see `bijective presets`)");
  if (opts.preset === undefined && opts.out === undefined) throw new CliError('train --resume: pass --out <run folder> (or --preset, for runs/<preset>)');
  if (opts.preset !== undefined) getPreset(opts.preset); // an unknown name is refused before anything is written
  await checkTrains(opts.engine);
  if (opts.steps !== undefined && opts.epochs !== undefined) throw new CliError('train: pass --steps or --epochs, not both');
  if (opts.out !== undefined) checkOutPath(opts.out, '--out', 'train');
  const dir = opts.out ?? join('runs', opts.preset!);
  const st = await stat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw new CliError(`train: --out ${dir} is a file; a run folder is a folder (choose another --out)`);
  const release = await lockRunFolder(dir).catch((e: unknown) => {
    throw writeError(e, dir, 'train');
  });
  try {
    await MetricsLog.check(join(dir, METRICS_FILE), 'train');
    return await lockedTrain(opts, argv, dir);
  } finally {
    await release();
  }
}

/**
 * Refuses an engine that cannot train here: unknown, not available, or one whose status says
 * `trains: false`; the error lists the engines that train.
 */
async function checkTrains(engine: string): Promise<void> {
  const status = await statusOf(engine);
  if (status.available && status.trains) return;
  const trains = (await listAllEngines()).filter((e) => e.available && e.trains).map((e) => e.engine);
  const why = !status.available ? `is not available: ${status.reason ?? 'no reason given'}` : 'runs flows but cannot train them (its status says trains: false; it can eval, sample and density)';
  throw new CliError(`engine '${engine}' ${why}; engines that train here: ${trains.join(', ') || 'none'}`);
}

const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/**
 * What a resumed run keeps from its checkpoint: preset, dataset, data seed, batch and seed. A
 * flag left out takes the checkpoint's value; one that contradicts it is refused, by its name.
 */
async function resumedOptions(dir: string, opts: TrainCommandOptions): Promise<TrainCommandOptions> {
  const file = JSON.parse(await readFile(join(dir, FLOW_FILE), 'utf8')) as { meta?: Partial<TrainMeta> & { run?: { batch?: number; seed?: number } } };
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
  return out as unknown as TrainCommandOptions;
}

async function lockedTrain(given: TrainCommandOptions, argv: readonly string[], dir: string): Promise<{ dir: string; result: TrainResult; test: EvalResult & Record<string, unknown>; signal?: keyof typeof SIGNALS }> {
  const hasCheckpoint = existsSync(join(dir, FLOW_FILE));
  if (given.resume && !hasCheckpoint) throw new CliError(`train: nothing to resume in ${dir} (no ${FLOW_FILE}); drop --resume to start a new run there`);
  if (!given.resume && hasCheckpoint) throw new CliError(`train: ${dir} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
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
    run: { engine: opts.engine, batch, lr, warmup, decay: opts.decay, seed: opts.seed, steps: totalSteps, ...(opts.maxMinutes !== undefined ? { maxMinutes: opts.maxMinutes } : {}) },
  };
  await loadBackends(opts.engine);
  const gradients = await openGradients(opts.engine);
  // The trainer's checkpoints carry its own state in `meta.training`; ours (preset, dataset,
  // command) is merged in so every checkpoint of the run says how it was made.
  const io: CheckpointIO = { save: (d, f, m, o) => fsCheckpointIO.save(d, f, { ...meta, ...m }, o), load: fsCheckpointIO.load };

  const log = new MetricsLog(join(dir, METRICS_FILE));
  const display = progressDisplay({ unit: image ? 'img' : 'ex', batch, ...(opts.quiet ? { tty: false } : {}) });
  const controller = new AbortController();
  // SIGINT (Ctrl-C), SIGTERM (`timeout`, `docker stop`, systemd) and SIGHUP all stop after the
  // step and save; a second one kills at once (the handlers are removed). The run then exits 128 + signal.
  let signal: keyof typeof SIGNALS | undefined;
  const handlers = Object.keys(SIGNALS).map((name) => {
    const handler = () => {
      signal = name as keyof typeof SIGNALS;
      display.line(`interrupted (${name}): stopping after this step and saving a checkpoint (again to quit at once)`);
      controller.abort();
      removeHandlers();
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  const removeHandlers = () => {
    for (const [name, handler] of handlers) process.off(name, handler);
  };
  // The trainer's loop can run for long stretches on promise continuations alone (an engine
  // whose reads resolve at once), which starves timers and signal handlers: so the deadline is
  // checked at every step, and every 200 ms the step callback yields to the event loop, letting
  // Ctrl-C and the progress bar's redraws through.
  const deadline = opts.maxMinutes !== undefined ? performance.now() + opts.maxMinutes * 60_000 : Infinity;
  let lastYield = performance.now();
  const yieldToEventLoop = async () => {
    if (performance.now() > deadline && !controller.signal.aborted) {
      display.line(`--max-minutes ${opts.maxMinutes} reached: stopping and saving a checkpoint`);
      controller.abort();
    }
    if (performance.now() - lastYield > 200) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  };
  log.append({ kind: 'start', resume: Boolean(opts.resume), ...meta });
  const started = performance.now();
  let result: TrainResult;
  try {
    result = await trainFlow(gradients, flow, data, {
      ...(steps !== undefined ? { steps } : { epochs: opts.epochs! }),
      batchSize: batch,
      lr,
      warmupSteps: warmup,
      decay: opts.decay === 'cosine' ? { type: 'cosine', finalFraction: 0.05 } : { type: 'none' },
      ...(opts.clipGradNorm !== undefined ? { clipGradNorm: opts.clipGradNorm } : {}),
      seed: opts.seed,
      ...(image ? { dequantize: { bins: 256 } } : {}),
      validation,
      evalEvery,
      checkpoint: { dir, every: opts.checkpointEvery },
      ...(opts.resume ? { resume: dir } : {}),
      checkpointIO: io,
      signal: controller.signal,
      onStep: async (p) => {
        if (p.kind === 'step') {
          display.step({ step: p.step, total: p.totalSteps, loss: p.loss, metricName: p.metric.name, metric: p.metric.value, examplesPerSecond: p.examplesPerSecond });
          if ((p.step + 1) % opts.logEvery === 0 || p.step + 1 === p.totalSteps) log.append(eventRecord(p));
          await yieldToEventLoop();
          return;
        }
        log.append(eventRecord(p));
        if (p.kind === 'eval') display.line(`step ${p.step + 1}: test (${p.examples} examples) loss ${p.loss.toFixed(4)} nats, ${p.metric.name === 'bitsPerDim' ? 'bits/dim' : 'nats/dim'} ${p.metric.value.toFixed(4)}`);
        else if (p.kind === 'rejected') display.line(`step ${p.step + 1}: rejected (${p.reason}); weights unchanged`);
        else if (p.kind === 'rollback') display.line(`step ${p.step + 1}: rolled back to step ${p.toStep} and lowered the learning rate to ${p.lr.toExponential(2)} (${p.reason})`);
        else if (p.kind === 'init') display.line(`data-dependent initialisation of ${p.params.length} parameters on the first batch`);
      },
    });
  } finally {
    display.stop();
    removeHandlers();
    await log.flush();
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
  const saved = await loadCheckpoint(dir);
  const summary = { engine: result.engine, steps: result.steps, updates: result.updates, rejected: result.rejected, rollbacks: result.rollbacks, lrScale: result.lrScale, stopped: result.stopped, seconds: elapsed };
  // The same unit with the metrics added: the optimizer state (same weights) travels along.
  await saveCheckpoint(dir, saved.flow, { ...saved.meta, result: summary, metrics: { train: { loss: result.loss, [result.metric.name]: result.metric.value }, test } }, { files: () => saved.files });
  log.append({ kind: 'test', ...test });
  await log.flush();
  return { dir, result, test, ...(signal ? { signal } : {}) };
}

export function registerTrain(program: Command, argv: readonly string[]): void {
  program
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
    .option('--engine <engine>', 'an engine that trains (its status says trains: true): tfjs-wasm, tfjs-cpu, tfjs-node, ...', DEFAULT_ENGINE)
    .option('--steps <n>', "number of steps (default: the preset's)", intOption(1))
    .option('--epochs <n>', 'number of epochs (instead of --steps)', intOption(1))
    .option('--batch <n>', `batch size (default: the preset's; at most ${LIMITS.batch})`, intOption(1, LIMITS.batch))
    .option('--lr <rate>', "peak Adam learning rate (default: the preset's)", numberOption((v) => v > 0, 'a positive number'))
    .option('--warmup <n>', 'linear learning-rate warm-up steps (default min(200, steps/10))', intOption(0))
    .option('--decay <kind>', "learning-rate decay after warm-up: 'none' or 'cosine' (to 5%)", 'none')
    .option('--clip-grad-norm <x>', 'clip the global gradient norm', numberOption((v) => v > 0, 'a positive number'))
    .option('--out <dir>', 'run folder: checkpoint, metrics.jsonl (default runs/<preset>)')
    .option('--resume', 'continue the run saved in --out')
    .option('--seed <n>', 'seed of the initial weights, batch order and dequantisation noise (default 0; a --resume takes the checkpoint\'s)', intOption(0))
    .option('--eval-every <n>', 'evaluate on test examples every n steps (default steps/10)', intOption(1))
    .option('--eval-examples <n>', 'test examples in each periodic evaluation (default: 1000 images, every 2-D point)', intOption(1))
    .option('--checkpoint-every <n>', 'save a checkpoint every n steps', intOption(1), 1000)
    .option('--log-every <n>', 'write a step record to metrics.jsonl every n steps', intOption(1), 10)
    .option('--max-minutes <m>', 'stop after m minutes of wall-clock time from the start (a checkpoint is saved, the test set evaluated)', numberOption((v) => v > 0, 'a positive number'))
    .option('--quiet', 'plain progress lines even on a terminal')
    .action(async (opts: TrainCommandOptions) => {
      if (opts.decay !== 'none' && opts.decay !== 'cosine') throw new CliError(`train: --decay must be 'none' or 'cosine', got '${String(opts.decay)}'`);
      const { dir, result, test, signal } = await runTrain(opts, argv);
      if (signal) exitStatus.code = SIGNALS[signal];
      const metric = test.bitsPerDim !== undefined ? `bits/dim ${test.bitsPerDim.toFixed(4)}` : `nats/dim ${test.natsPerDim!.toFixed(4)}`;
      const kl = test.kl ? `, KL to the true density ${test.kl.value.toFixed(4)} ± ${test.kl.stdErr.toFixed(4)} nats` : '';
      process.stdout.write(
        `${result.stopped ? 'stopped' : 'done'} after ${result.steps} steps on ${result.engine} (${result.rejected} rejected, ${result.rollbacks} rollbacks)\n` +
          `test: nll ${test.nll.toFixed(4)} ± ${test.nllStdErr.toFixed(4)} nats, ${metric} (${test.n} examples)${kl}\n` +
          `checkpoint: ${dir}\n`,
      );
    });
}
