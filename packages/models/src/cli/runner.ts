import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { CheckpointIO, TrainProgress, TrainResult } from '@bijective/core';
import { FLOW_FILE, fsCheckpointIO, loadCheckpoint, saveCheckpoint } from '@bijective/core/node';
import { DEFAULT_ENGINE, listAllEngines, statusOf } from '../engines.js';
import { CliError, LIMITS, intOption, numberOption } from './common.js';
import { MetricsLog } from './metricsLog.js';
import { checkOutPath, writeError } from './output.js';
import { progressDisplay, type ProgressDisplay } from './progress.js';
import { lockRunFolder } from './runLock.js';

/**
 * What `train` and `distill` share: the run folder (lock, metrics.jsonl, one checkpoint that a
 * `--resume` continues), progress, signals, the wall-clock budget and the final metrics.
 */

export const METRICS_FILE = 'metrics.jsonl';

/** Exit status of a run stopped by a signal: 128 + its number. */
export const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
export type StopSignal = keyof typeof SIGNALS;

/** The options every run command takes (parsed by {@link addRunOptions}). */
export interface RunCommandOptions {
  engine: string;
  steps?: number;
  batch?: number;
  lr?: number;
  warmup?: number;
  decay?: 'none' | 'cosine';
  clipGradNorm?: number;
  out?: string;
  resume?: boolean;
  seed?: number;
  checkpointEvery: number;
  logEvery: number;
  maxMinutes?: number;
  quiet?: boolean;
}

/** Adds the run options to `command`; `what` says what `--seed` seeds and how `--out` defaults. */
export function addRunOptions(command: Command, what: { seed: string; out: string }): Command {
  return command
    .option('--engine <engine>', 'an engine that trains (its status says trains: true): tfjs-wasm, tfjs-cpu, tfjs-node, ...', DEFAULT_ENGINE)
    .option('--steps <n>', "number of steps (default: the preset's; a --resume takes the checkpoint's)", intOption(1))
    .option('--batch <n>', `batch size (default: the preset's; at most ${LIMITS.batch})`, intOption(1, LIMITS.batch))
    .option('--lr <rate>', "peak Adam learning rate (default: the preset's; a --resume takes the checkpoint's)", numberOption((v) => v > 0, 'a positive number'))
    .option('--warmup <n>', "linear learning-rate warm-up steps (default min(200, steps/10); a --resume takes the checkpoint's)", intOption(0))
    .option('--decay <kind>', "learning-rate decay after warm-up: 'none' or 'cosine' (to 5%) (default: none; a --resume takes the checkpoint's)")
    .option('--clip-grad-norm <x>', "clip the global gradient norm (a --resume takes the checkpoint's)", numberOption((v) => v > 0, 'a positive number'))
    .option('--out <dir>', `run folder: checkpoint, metrics.jsonl (${what.out})`)
    .option('--resume', 'continue the run saved in --out')
    .option('--seed <n>', `seed of ${what.seed} (default 0; a --resume takes the checkpoint's)`, intOption(0))
    .option('--checkpoint-every <n>', 'save a checkpoint every n steps', intOption(1), 1000)
    .option('--log-every <n>', 'write a step record to metrics.jsonl every n steps', intOption(1), 10)
    .option('--max-minutes <m>', 'stop after m minutes of wall-clock time from the start (a checkpoint is saved, the final evaluation run)', numberOption((v) => v > 0, 'a positive number'))
    .option('--quiet', 'plain progress lines even on a terminal');
}

/** Refuses a `--decay` other than the two kinds. */
export function checkDecay(decay: string | undefined, command: string): void {
  if (decay !== undefined && decay !== 'none' && decay !== 'cosine') throw new CliError(`${command}: --decay must be 'none' or 'cosine', got '${decay}'`);
}

/** The trainer's decay for `--decay`. */
export const decayOf = (decay: 'none' | 'cosine' | undefined) => (decay === 'cosine' ? ({ type: 'cosine', finalFraction: 0.05 } as const) : ({ type: 'none' } as const));

/**
 * Refuses an engine that cannot train here: unknown, not available, or one whose status says
 * `trains: false`; the error lists the engines that train.
 */
export async function checkTrains(engine: string): Promise<void> {
  const status = await statusOf(engine);
  if (status.available && status.trains) return;
  const trains = (await listAllEngines()).filter((e) => e.available && e.trains).map((e) => e.engine);
  const why = !status.available ? `is not available: ${status.reason ?? 'no reason given'}` : 'runs flows but cannot train them (its status says trains: false; it can eval, sample and density)';
  throw new CliError(`engine '${engine}' ${why}; engines that train here: ${trains.join(', ') || 'none'}`);
}

/** Refuses an `--out` that is empty or a file (before anything is written). */
export async function checkRunFolder(dir: string, command: string): Promise<void> {
  checkOutPath(dir, '--out', command);
  const st = await stat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw new CliError(`${command}: --out ${dir} is a file; a run folder is a folder (choose another --out)`);
}

/** Refuses `--resume` without a checkpoint in `dir`, and a new run over one. */
export function checkResumeState(dir: string, resume: boolean | undefined, command: string): void {
  const hasCheckpoint = existsSync(join(dir, FLOW_FILE));
  if (resume && !hasCheckpoint) throw new CliError(`${command}: nothing to resume in ${dir} (no ${FLOW_FILE}); drop --resume to start a new run there`);
  if (!resume && hasCheckpoint) throw new CliError(`${command}: ${dir} already holds a checkpoint; pass --resume to continue it, or choose another --out`);
}

/** Runs `body` holding the run folder's lock (created if missing). */
export async function inRunFolder<T>(dir: string, command: string, body: () => Promise<T>): Promise<T> {
  const release = await lockRunFolder(dir, command).catch((e: unknown) => {
    throw writeError(e, dir, command);
  });
  try {
    await MetricsLog.check(join(dir, METRICS_FILE), command);
    return await body();
  } finally {
    await release();
  }
}

/** The commands recorded in an earlier checkpoint of the run. */
export async function previousCommands(dir: string): Promise<string[]> {
  const file = JSON.parse(await readFile(join(dir, FLOW_FILE), 'utf8')) as { meta?: { commands?: unknown; command?: unknown } };
  const m = file.meta ?? {};
  if (Array.isArray(m.commands)) return m.commands.map(String);
  return typeof m.command === 'string' ? [m.command] : [];
}

/** The run's `meta.run`: how it was trained. */
export function runRecord(opts: RunCommandOptions, r: { batch: number; lr: number; warmup: number; seed: number; steps: number }): Record<string, unknown> {
  return {
    engine: opts.engine,
    batch: r.batch,
    lr: r.lr,
    warmup: r.warmup,
    decay: opts.decay ?? 'none',
    ...(opts.clipGradNorm !== undefined ? { clipGradNorm: opts.clipGradNorm } : {}),
    seed: r.seed,
    steps: r.steps,
    ...(opts.maxMinutes !== undefined ? { maxMinutes: opts.maxMinutes } : {}),
  };
}

/** The schedule a checkpoint's `meta.run` records (see {@link runRecord}). */
export interface RecordedRun {
  batch?: number;
  seed?: number;
  lr?: number;
  warmup?: number;
  decay?: 'none' | 'cosine';
  clipGradNorm?: number;
  steps?: number;
}

/**
 * A resumed run's schedule: each of `--steps --lr --warmup --decay --clip-grad-norm` left out
 * takes the checkpoint's recorded value, so `--resume` alone continues the same run (the same
 * cosine length, peak rate, warm-up and clipping; bit-identical to an uninterrupted run). A flag
 * that is given wins: it is the user's explicit change, and the run's `commands` record it.
 * (A checkpoint made before clipping was recorded resumes unclipped unless the flag is given.)
 */
export function withRecordedSchedule<T extends RunCommandOptions>(opts: T, run: RecordedRun | undefined): T {
  if (!opts.resume || !run) return opts;
  return {
    ...opts,
    ...(opts.steps === undefined && run.steps !== undefined ? { steps: run.steps } : {}),
    ...(opts.lr === undefined && run.lr !== undefined ? { lr: run.lr } : {}),
    ...(opts.warmup === undefined && run.warmup !== undefined ? { warmup: run.warmup } : {}),
    ...(opts.decay === undefined && run.decay !== undefined ? { decay: run.decay } : {}),
    ...(opts.clipGradNorm === undefined && run.clipGradNorm !== undefined ? { clipGradNorm: run.clipGradNorm } : {}),
  };
}

/** The trainer's checkpoint IO with the command's `meta` merged into every save. */
export function checkpointIOWith(meta: Record<string, unknown>): CheckpointIO {
  return { save: (d, f, m, o) => fsCheckpointIO.save(d, f, { ...meta, ...m }, o), load: fsCheckpointIO.load };
}

function eventRecord(p: TrainProgress): Record<string, unknown> {
  if (p.kind === 'step' || p.kind === 'eval') {
    const { metric, ...rest } = p;
    return { ...rest, [metric.name]: metric.value };
  }
  return { ...p };
}

/** A running train or distill: what the trainer is given, and what the command reads after. */
export interface RunSession {
  readonly log: MetricsLog;
  readonly display: ProgressDisplay;
  readonly signal: AbortSignal;
  onStep(p: TrainProgress): Promise<void>;
  /** The signal that stopped the run, if one did. */
  stoppedBy(): StopSignal | undefined;
  /** Stops the display and the signal handlers, and flushes the log. */
  close(): Promise<void>;
}

/**
 * Starts the progress display, metrics.jsonl and the handlers: SIGINT (Ctrl-C), SIGTERM
 * (`timeout`, `docker stop`, systemd) and SIGHUP all stop after the step and save; a second one
 * kills at once (the handlers are removed). The command then exits 128 + the signal's number.
 */
export function startRun(o: { dir: string; unit: 'img' | 'ex'; batch: number; quiet?: boolean; maxMinutes?: number; logEvery: number }): RunSession {
  const log = new MetricsLog(join(o.dir, METRICS_FILE));
  const display = progressDisplay({ unit: o.unit, batch: o.batch, ...(o.quiet ? { tty: false } : {}) });
  const controller = new AbortController();
  let signal: StopSignal | undefined;
  const handlers = Object.keys(SIGNALS).map((name) => {
    const handler = () => {
      signal = name as StopSignal;
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
  const deadline = o.maxMinutes !== undefined ? performance.now() + o.maxMinutes * 60_000 : Infinity;
  let lastYield = performance.now();
  const yieldToEventLoop = async () => {
    if (performance.now() > deadline && !controller.signal.aborted) {
      display.line(`--max-minutes ${o.maxMinutes} reached: stopping and saving a checkpoint`);
      controller.abort();
    }
    if (performance.now() - lastYield > 200) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  };
  return {
    log,
    display,
    signal: controller.signal,
    stoppedBy: () => signal,
    async onStep(p) {
      if (p.kind === 'step') {
        display.step({ step: p.step, total: p.totalSteps, loss: p.loss, metricName: p.metric.name, metric: p.metric.value, examplesPerSecond: p.examplesPerSecond });
        if ((p.step + 1) % o.logEvery === 0 || p.step + 1 === p.totalSteps) log.append(eventRecord(p));
        await yieldToEventLoop();
        return;
      }
      log.append(eventRecord(p));
      if (p.kind === 'eval') display.line(`step ${p.step + 1}: test (${p.examples} examples) loss ${p.loss.toFixed(4)} nats, ${p.metric.name === 'bitsPerDim' ? 'bits/dim' : 'nats/dim'} ${p.metric.value.toFixed(4)}`);
      else if (p.kind === 'rejected') display.line(`step ${p.step + 1}: rejected (${p.reason}); weights unchanged`);
      else if (p.kind === 'rollback') display.line(`step ${p.step + 1}: rolled back to step ${p.toStep} and lowered the learning rate to ${p.lr.toExponential(2)} (${p.reason})`);
      else if (p.kind === 'init') display.line(`data-dependent initialisation of ${p.params.length} parameters on the first batch`);
    },
    async close() {
      display.stop();
      removeHandlers();
      await log.flush();
    },
  };
}

/**
 * Re-saves the run's checkpoint with its result and `metrics` in `meta` (the weights are
 * unchanged; the optimizer state travels along), and logs `record`.
 */
export async function saveRunMetrics(dir: string, session: RunSession, result: TrainResult, seconds: number, metrics: Record<string, unknown>, record: Record<string, unknown>): Promise<void> {
  const saved = await loadCheckpoint(dir);
  const summary = { engine: result.engine, steps: result.steps, updates: result.updates, rejected: result.rejected, rollbacks: result.rollbacks, lrScale: result.lrScale, stopped: result.stopped, seconds };
  await saveCheckpoint(dir, saved.flow, { ...saved.meta, result: summary, metrics: { train: { loss: result.loss, [result.metric.name]: result.metric.value }, ...metrics } }, { files: () => saved.files });
  session.log.append(record);
  await session.log.flush();
}

/** The first line a finished run prints. */
export function doneLine(result: TrainResult): string {
  return `${result.stopped ? 'stopped' : 'done'} after ${result.steps} steps on ${result.engine} (${result.rejected} rejected, ${result.rollbacks} rollbacks)\n`;
}
