import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  DISTILL_OUTPUTS,
  Rng,
  createFlow,
  distillFlow,
  distillationGraph,
  formatShape,
  klEstimate,
  openGradients,
  teacherParams,
  trainableParams,
  type Flow,
  type FlowSpec,
  type TrainResult,
} from '@bijective/core';
import { FLOW_FILE, loadCheckpoint } from '@bijective/core/node';
import type { Dataset } from '../datasets/registry.js';
import { loadBackends, openRuntime } from '../engines.js';
import { evaluate, nonFiniteNote, type EvalResult } from '../evaluate.js';
import { presets } from '../presets/registry.js';
import { CliError, commandLine, datasetFor, exitStatus, intOption, numberOption, trainData, type TrainMeta } from './common.js';
import * as runner from './runner.js';
import type { RunCommandOptions, StopSignal } from './runner.js';

export interface DistillCommandOptions extends RunCommandOptions {
  teacher?: string;
  student?: string;
  klSamples: number;
  forwardWeight?: number;
  pathGradient?: boolean;
  pairWeight?: number;
  testExamples?: number;
}

/** What a student checkpoint records of its teacher. */
export interface TeacherRecord {
  path: string;
  resolved: string;
  weightsSha256: string;
}

/** Loads the teacher checkpoint; a missing or corrupt one is one clear line. */
async function loadTeacher(dir: string): Promise<{ flow: Flow; meta: TrainMeta; sha: string }> {
  try {
    const { flow, meta, weightsSha256 } = await loadCheckpoint(dir);
    return { flow, meta: meta as TrainMeta, sha: weightsSha256 };
  } catch (e) {
    throw new CliError(`distill: the teacher --teacher ${dir} cannot be loaded: ${(e as Error).message}`);
  }
}

/** The student's spec: a preset (vector presets take the teacher's dimension) or a FlowSpec JSON file. */
async function studentSpec(student: string, teacher: Flow, teacherDir: string): Promise<FlowSpec> {
  const te = teacher.spec.event;
  let spec: FlowSpec;
  const preset = presets[student];
  if (preset) {
    spec = preset.specForDim && te.length === 1 ? preset.specForDim(te[0]!) : preset.spec();
  } else if (student.endsWith('.json')) {
    try {
      spec = JSON.parse(await readFile(student, 'utf8')) as FlowSpec;
    } catch (e) {
      throw new CliError(`distill: --student ${student} is not a readable FlowSpec JSON file (${(e as Error).message})`);
    }
  } else {
    throw new CliError(`distill: --student '${student}' is neither a preset (see \`bijective presets\`) nor a FlowSpec .json file`);
  }
  if (formatShape(spec.event) !== formatShape(te)) {
    throw new CliError(`distill: the student ${student} models events of shape ${formatShape(spec.event)}, the teacher ${teacherDir} ${formatShape(te)}; expected a student of the teacher's event shape`);
  }
  return spec;
}

/** Monte-Carlo KL(student ‖ teacher) on `n` student samples (seeded), with its standard error. */
async function klToTeacher(engine: string, student: Flow, teacher: Flow, n: number, seed: number): Promise<{ value: number; stdErr: number; samples: number }> {
  const gradients = await openGradients(engine);
  const program = await gradients.compile(distillationGraph(student, teacher), { loss: DISTILL_OUTPUTS.loss, wrt: trainableParams(student), outputs: [DISTILL_OUTPUTS.logQ, DISTILL_OUTPUTS.logP] });
  const params = { ...Object.fromEntries(Object.entries(student.params).map(([k, p]) => [k, p.data])), ...teacherParams(teacher) };
  const rng = new Rng(seed);
  const logQ: number[] = [];
  const logP: number[] = [];
  const d = student.dim;
  try {
    for (let at = 0; at < n; at += 1000) {
      const m = Math.min(1000, n - at);
      const z = Float32Array.from({ length: m * d }, () => rng.normal());
      const { outputs } = await program.run({ z: { data: z, shape: [m, ...student.spec.event] } }, params);
      logQ.push(...outputs[DISTILL_OUTPUTS.logQ]!);
      logP.push(...outputs[DISTILL_OUTPUTS.logP]!);
    }
  } finally {
    await program.dispose();
  }
  const k = klEstimate(logQ, logP);
  return { value: k.kl, stdErr: k.stderr, samples: k.n };
}

/** Median wall-clock milliseconds of `repeats` sample calls at each batch size (after one warm-up call). */
async function samplingMs(flow: Flow, engine: string, batches: readonly number[], repeats = 5): Promise<Record<string, number>> {
  const runtime = await openRuntime(flow, engine);
  const out: Record<string, number> = {};
  try {
    for (const n of batches) {
      await runtime.sample({ n, seed: 0 });
      const times: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const t = performance.now();
        await runtime.sample({ n, seed: r + 1 });
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      out[`batch${n}`] = times[Math.floor(repeats / 2)]!;
    }
  } finally {
    await runtime.dispose();
  }
  return out;
}

async function testNll(flow: Flow, engine: string, dataset: Dataset, limit: number | undefined): Promise<EvalResult> {
  const runtime = await openRuntime(flow, engine);
  try {
    return await evaluate(runtime, dataset, { event: flow.spec.event, ...(limit !== undefined ? { limit } : {}) });
  } finally {
    await runtime.dispose();
  }
}

export interface DistillMetrics {
  kl: { value: number; stdErr: number; samples: number };
  test: { student: EvalResult; teacher: EvalResult };
  samplingMs: { engine: string; student: Record<string, number>; teacher: Record<string, number> };
}

/**
 * An objective option a resumed run keeps: the checkpoint's value (`fallback` when it records
 * none); a flag that contradicts it is refused with `refuse(recorded)`. A new run takes the flag.
 */
function keptOnResume<T>(resume: boolean | undefined, given: T | undefined, recorded: T | undefined, fallback: T, refuse: (was: T) => string): T {
  if (!resume) return given ?? fallback;
  const was = recorded ?? fallback;
  if (given !== undefined && given !== was) throw new CliError(`distill --resume: ${refuse(was)}`);
  return was;
}

/** The refusal of a flag whose value differs from the resumed checkpoint's. */
const contradicts = (dir: string, flag: string, given: unknown, was: unknown) =>
  `${flag} ${String(given)} contradicts the checkpoint in ${dir}, made with ${flag} ${String(was)}; drop ${flag} (a resumed run keeps it)`;

/** Runs `distill`; returns the metrics written into the student's checkpoint. */
export async function runDistill(given: DistillCommandOptions, argv: readonly string[]): Promise<{ dir: string; result: TrainResult; metrics: DistillMetrics; signal?: StopSignal }> {
  if (given.out === undefined) throw new CliError('distill: pass --out <run folder> for the student');
  const dir = given.out;
  await runner.checkRunFolder(dir, 'distill');
  runner.checkResumeState(dir, given.resume, 'distill');
  const recorded = given.resume ? ((JSON.parse(await readFile(join(dir, FLOW_FILE), 'utf8')) as { meta?: TrainMeta }).meta ?? {}) : {};
  const record = recorded.teacher as TeacherRecord | undefined;
  if (given.resume && !record) throw new CliError(`distill --resume: the checkpoint in ${dir} does not record a teacher (not a distill run)`);
  const teacherDir = given.teacher ?? record?.resolved;
  if (teacherDir === undefined) throw new CliError('distill: pass --teacher <checkpoint folder> (a trained flow, e.g. a maf-2d)');
  const studentName = given.student ?? (recorded.student as string | undefined);
  if (studentName === undefined) throw new CliError('distill: pass --student <preset or spec.json> (e.g. iaf-2d)');
  if (given.resume && given.student !== undefined && given.student !== recorded.student) throw new CliError(`distill --resume: ${contradicts(dir, '--student', given.student, recorded.student)}`);
  const teacher = await loadTeacher(teacherDir);
  if (record && teacher.sha !== record.weightsSha256) {
    throw new CliError(`distill --resume: the teacher ${teacherDir} has changed: its weights have SHA-256 ${teacher.sha.slice(0, 12)}…, the run was distilled from ${record.weightsSha256.slice(0, 12)}…; expected the same teacher`);
  }
  const spec = await studentSpec(studentName, teacher.flow, teacherDir);
  await runner.checkTrains(given.engine);
  const run = recorded.run as runner.RecordedRun | undefined;
  const forwardWeight = keptOnResume(given.resume, given.forwardWeight, recorded.forwardWeight as number | undefined, 0, (was) => contradicts(dir, '--forward-weight', given.forwardWeight, was));
  const pairWeight = keptOnResume(given.resume, given.pairWeight, recorded.pairWeight as number | undefined, 0, (was) => contradicts(dir, '--pair-weight', given.pairWeight, was));
  const pathGradient = keptOnResume(given.resume, given.pathGradient, recorded.pathGradient as boolean | undefined, false, (was) => `--path-gradient contradicts the checkpoint in ${dir}, made ${was ? 'with' : 'without'} it; drop --path-gradient`);
  // Batch and seed fix the noise stream a bit-identical resume replays: kept, as train keeps them.
  const seed = keptOnResume(given.resume, given.seed, run?.seed, 0, (was) => contradicts(dir, '--seed', given.seed, was));
  const batch = keptOnResume(given.resume, given.batch, run?.batch, 256, (was) => contradicts(dir, '--batch', given.batch, was));
  const opts = { ...runner.withRecordedSchedule(given, run), seed, batch, forwardWeight, pathGradient, pairWeight };
  return runner.inRunFolder(dir, 'distill', () => lockedDistill(opts, argv, dir, { ...teacher, dir: teacherDir, spec, studentName, prior: given.resume ? record : undefined }));
}

async function lockedDistill(
  opts: DistillCommandOptions & { seed: number; batch: number; forwardWeight: number; pathGradient: boolean; pairWeight: number },
  argv: readonly string[],
  dir: string,
  t: { flow: Flow; meta: TrainMeta; sha: string; dir: string; spec: FlowSpec; studentName: string; prior: TeacherRecord | undefined },
): Promise<{ dir: string; result: TrainResult; metrics: DistillMetrics; signal?: StopSignal }> {
  const student = createFlow(t.spec, { seed: opts.seed });
  const steps = opts.steps ?? 3000;
  const lr = opts.lr ?? 1e-3;
  const warmup = opts.warmup ?? Math.min(200, Math.floor(steps / 10));
  const teacher: TeacherRecord = t.prior ?? { path: t.dir, resolved: resolve(t.dir), weightsSha256: t.sha };
  const meta: TrainMeta = {
    ...(presets[t.studentName] ? { preset: t.studentName } : {}),
    student: t.studentName,
    teacher,
    forwardWeight: opts.forwardWeight,
    pathGradient: opts.pathGradient,
    pairWeight: opts.pairWeight,
    ...(t.meta.dataset !== undefined ? { dataset: t.meta.dataset } : {}),
    ...(t.meta.dataShape !== undefined ? { dataShape: t.meta.dataShape } : {}),
    ...(t.meta.dataSeed !== undefined ? { dataSeed: t.meta.dataSeed } : {}),
    ...(t.meta.dataDir !== undefined ? { dataDir: t.meta.dataDir } : {}),
    ...(t.meta.data !== undefined ? { data: t.meta.data } : {}),
    command: commandLine(argv),
    commands: [...(opts.resume ? await runner.previousCommands(dir) : []), commandLine(argv)],
    run: runner.runRecord(opts, { batch: opts.batch, lr, warmup, seed: opts.seed, steps }),
  };
  // The teacher's dataset, read once: the pair term's training split (dequantised as train
  // dequantises it) and the final test NLL of student and teacher.
  let loaded: Promise<Dataset> | undefined;
  const teacherData = () => (loaded ??= datasetFor(t.meta, {}, 'distill'));
  const dataset = opts.pairWeight > 0 ? await teacherData() : undefined;
  const data = dataset ? trainData(dataset, 'train', student.spec.event) : undefined;
  await loadBackends(opts.engine);
  const gradients = await openGradients(opts.engine);
  const session = runner.startRun({ dir, unit: 'ex', batch: opts.batch, ...(opts.quiet ? { quiet: true } : {}), ...(opts.maxMinutes !== undefined ? { maxMinutes: opts.maxMinutes } : {}), logEvery: opts.logEvery });
  session.log.append({ kind: 'start', resume: Boolean(opts.resume), ...meta });
  const started = performance.now();
  let result: TrainResult;
  try {
    result = await distillFlow(gradients, student, t.flow, {
      steps,
      batchSize: opts.batch,
      lr,
      warmupSteps: warmup,
      decay: runner.decayOf(opts.decay),
      ...(opts.clipGradNorm !== undefined ? { clipGradNorm: opts.clipGradNorm } : {}),
      seed: opts.seed,
      forwardWeight: opts.forwardWeight,
      pathGradient: opts.pathGradient,
      ...(data ? { pairWeight: opts.pairWeight, data, ...(dataset!.kind === 'image' ? { dequantize: { bins: 256 } } : {}) } : {}),
      checkpoint: { dir, every: opts.checkpointEvery },
      ...(opts.resume ? { resume: dir } : {}),
      checkpointIO: runner.checkpointIOWith(meta),
      signal: session.signal,
      onStep: (p) => session.onStep(p),
    });
  } finally {
    await session.close();
  }
  const elapsed = (performance.now() - started) / 1000;
  const metrics: DistillMetrics = {
    kl: await klToTeacher(opts.engine, student, t.flow, opts.klSamples, opts.seed + 1),
    test: { student: await testNll(student, opts.engine, await teacherData(), opts.testExamples), teacher: await testNll(t.flow, opts.engine, await teacherData(), opts.testExamples) },
    samplingMs: { engine: opts.engine, student: await samplingMs(student, opts.engine, [1, 64]), teacher: await samplingMs(t.flow, opts.engine, [1, 64]) },
  };
  await runner.saveRunMetrics(dir, session, result, elapsed, { ...metrics }, { kind: 'distill-eval', ...metrics });
  const signal = session.stoppedBy();
  return { dir, result, metrics, ...(signal ? { signal } : {}) };
}

export function registerDistill(program: Command, argv: readonly string[]): void {
  const command = program
    .command('distill')
    .description('probability density distillation: train a student (e.g. iaf-2d) to match a trained teacher (e.g. maf-2d) by minimising KL(student ‖ teacher) on its own samples')
    .option('--teacher <dir>', 'checkpoint folder of the trained teacher (a --resume takes the recorded one)')
    .option('--student <preset|spec.json>', "the student: a preset (vector presets take the teacher's dimension) or a FlowSpec JSON file")
    .option('--kl-samples <n>', 'student samples of the final KL(student ‖ teacher) estimate', intOption(2), 10000)
    .option(
      '--forward-weight <λ>',
      "adds λ·E_teacher[−log q]: the student's NLL of teacher samples (the forward KL up to a constant), which keeps it on every teacher mode; costs the teacher's sampling and the student's density pass, sequential for MAF/IAF (default 0)",
      numberOption((v) => Number.isFinite(v) && v >= 0, 'a number ≥ 0'),
    )
    .option(
      '--path-gradient',
      "the path-derivative (\"sticking the landing\") gradient of the KL: drops the score term, whose mean is zero, so the gradient's noise vanishes as the student reaches the teacher; costs the student's density pass of its samples, sequential for an IAF (D steps)",
    )
    .option(
      '--pair-weight <μ>',
      "adds μ·E_x ½‖g_q(f_p(x)) − x‖² on the teacher's training data x: the student must send the teacher's latent of every data point back to it, against mode dropping; parallel in D for MAF/IAF (default 0)",
      numberOption((v) => Number.isFinite(v) && v >= 0, 'a number ≥ 0'),
    )
    .option('--test-examples <n>', "the first n test examples in the final test NLL of student and teacher (default all; an IAF student's density is sequential in D, dear for images)", intOption(1));
  runner.addRunOptions(command, { seed: "the student's initial weights and its noise z", out: 'required' }).action(async (opts: DistillCommandOptions) => {
    runner.checkDecay(opts.decay, 'distill');
    const { dir, result, metrics, signal } = await runDistill(opts, argv);
    if (signal) exitStatus.code = runner.SIGNALS[signal];
    const { kl, test, samplingMs: s } = metrics;
    const ms = (r: Record<string, number>) => `${r.batch1!.toFixed(2)} ms (batch 1), ${r.batch64!.toFixed(2)} ms (batch 64)`;
    process.stdout.write(
      runner.doneLine(result) +
        `KL(student ‖ teacher) ${kl.value.toFixed(4)} ± ${kl.stdErr.toFixed(4)} nats (${kl.samples} student samples)\n` +
        `test nll: student ${test.student.nll.toFixed(4)} ± ${test.student.nllStdErr.toFixed(4)}${nonFiniteNote(test.student)}, teacher ${test.teacher.nll.toFixed(4)} ± ${test.teacher.nllStdErr.toFixed(4)}${nonFiniteNote(test.teacher)} nats (${test.student.n} examples)\n` +
        (test.student.bitsPerDim !== undefined ? `test bits/dim: student ${test.student.bitsPerDim.toFixed(4)}, teacher ${test.teacher.bitsPerDim!.toFixed(4)}\n` : '') +
        `sampling on ${s.engine}: student ${ms(s.student)}; teacher ${ms(s.teacher)}\n` +
        `checkpoint: ${dir}\n`,
    );
  });
}
