import type { GradientEngine, GradientProgram } from '../engine/types.js';
import type { Flow } from '../flow/flow.js';
import { natsPerDim } from '../flow/metrics.js';
import { Rng } from '../random.js';
import { sizeOf, type Tensor } from '../tensor.js';
import { Batcher, checkTrainData, streamSeed, type TrainData } from './batches.js';
import { defaultCheckpointIO } from './checkpoint-io.js';
import { DISTILL_DATA_X, DISTILL_OUTPUTS, DISTILL_TEACHER_Z, distillationGraph, studentStopParams, teacherParams } from './distillation.js';
import { loadResume, runLoop, trainableParams, type Resumed } from './loop.js';
import type { Metric, TrainOptions, TrainResult, TrainerState } from './options.js';
import { checkSchedule, type LrSchedule } from './schedule.js';
import { dataInitGraph, positiveInt } from './trainer.js';

const NOISE = 4;
const TEACHER_NOISE = 5;

/** Options of {@link distillFlow}: the trainer's, without those about data. */
export type DistillOptions = Omit<TrainOptions, 'epochs' | 'dequantize' | 'bins' | 'initBatchSize' | 'validation' | 'evalEvery'> & {
  /**
   * λ of the mass-covering term ({@link distillationGraph}): each step then also draws the
   * teacher's noise z_t `[batchSize, ...event]` from its own seeded stream. Default 0 (the plain
   * reverse KL).
   */
  forwardWeight?: number;
  /**
   * The path-derivative gradient estimator (`pathGradient` of {@link distillationGraph}):
   * each step also runs the student's density pass on its samples. Default false.
   */
  pathGradient?: boolean;
  /**
   * μ of the pair term ({@link distillationGraph}): each step then also feeds a batch of
   * `data` (the teacher's training data), drawn and dequantised as {@link trainFlow} draws
   * them. Default 0.
   */
  pairWeight?: number;
  /** The data of the pair term, `[M, ...event]` (integers when dequantising); required when pairWeight > 0. */
  data?: TrainData;
  /** Dequantise `data` as the trainer does (`bins` levels, default 256): set it for image bytes. */
  dequantize?: { bins?: number };
};

/**
 * Probability density distillation on any engine that trains: fits `student` (e.g. an IAF) to
 * the frozen `teacher` (e.g. a MAF) by minimising the reverse KL on the student's own samples
 * ({@link distillationGraph}), with the same loop, optimizer, schedule, rejection, rollback,
 * checkpoints and bit-identical resume as {@link trainFlow}. Step s feeds z ~ N(0, I)
 * `[batchSize, ...event]` drawn from `(seed, s)`; the teacher's parameters are fed as fixed
 * `teacher/*` and never change. The loss (and `TrainResult.loss`) is the Monte-Carlo KL of a
 * batch in nats; the metric is it per dimension.
 */
export async function distillFlow(engine: GradientEngine, student: Flow, teacher: Flow, options: DistillOptions = {}): Promise<TrainResult> {
  const forwardWeight = options.forwardWeight ?? 0;
  const pathGradient = options.pathGradient ?? false;
  const pairWeight = options.pairWeight ?? 0;
  const graph = distillationGraph(student, teacher, { forwardWeight, pathGradient, pairWeight });
  const bins = options.dequantize ? (options.dequantize.bins ?? 256) : undefined;
  if (pairWeight > 0 && !options.data) throw new Error('distillation: pairWeight > 0 needs data (the teacher\'s training examples, options.data)');
  if (options.data) checkTrainData('distill: data', options.data, student.spec.event, bins);
  if (dataInitGraph(student)) {
    throw new Error('distillation: the student has layers initialised from data (ActNorm not yet initialised); distillation has no data batch — initialise them first or use a student without them');
  }
  const io = options.checkpointIO ?? defaultCheckpointIO();
  if ((options.checkpoint || options.resume) && !io) throw new Error('distill: checkpoints need a CheckpointIO (in Node import @bijective/core/node; elsewhere pass options.checkpointIO)');
  let state: TrainerState = { step: 0, updates: 0, rejected: 0, rollbacks: 0, lrScale: 1, seed: options.seed ?? 0, batchSize: positiveInt('batchSize', options.batchSize, 64), adamT: 0 };
  let resumed: Resumed | undefined;
  if (options.resume) {
    resumed = await loadResume(io!, options.resume, student, options);
    state = resumed.state;
  }
  const totalSteps = positiveInt('steps', options.steps, 1000);
  const schedule: LrSchedule = { lr: options.lr ?? 1e-3, warmupSteps: options.warmupSteps ?? 0, decay: options.decay ?? { type: 'none' }, totalSteps };
  checkSchedule(schedule);
  const lrBackoff = options.lrBackoff ?? 0.5;
  if (!(lrBackoff > 0 && lrBackoff < 1)) throw new RangeError(`train: lrBackoff must be in (0, 1), got ${lrBackoff}`);
  const clip = options.clipGradNorm;
  if (clip !== undefined && !(clip > 0)) throw new RangeError(`train: clipGradNorm must be positive, got ${clip}`);
  const event = student.spec.event;
  const n = state.batchSize;
  const size = n * sizeOf(event);
  const batcher = pairWeight > 0 ? new Batcher(options.data!, event, n, state.seed, bins) : undefined;
  if (batcher && batcher.count < n) throw new RangeError(`distill: the pair term's data has ${batcher.count} examples, fewer than the batch size ${n}; expected at least one batch`);
  const metricOf = (loss: number): Metric => ({ name: 'natsPerDim', value: natsPerDim(loss, student.dim) });
  let program: GradientProgram | undefined;
  try {
    program = await engine.compile(graph, { loss: DISTILL_OUTPUTS.loss, wrt: trainableParams(student), meanOverBatch: true });
    const { state: end, recent, stopped } = await runLoop(
      {
        flow: student,
        program,
        // The stop-gradient copy aliases the student's arrays, which the loop updates in place.
        fixed: { ...teacherParams(teacher), ...(pathGradient ? studentStopParams(student) : {}) },
        batch: (step): Record<string, Tensor> => {
          const noise = (stream: number) => {
            const rng = new Rng(streamSeed(state.seed, stream, step));
            const z = new Float32Array(size);
            for (let i = 0; i < size; i++) z[i] = rng.normal();
            return { data: z, shape: [n, ...event] };
          };
          return {
            z: noise(NOISE),
            ...(forwardWeight > 0 ? { [DISTILL_TEACHER_Z]: noise(TEACHER_NOISE) } : {}),
            ...(batcher ? { [DISTILL_DATA_X]: { data: batcher.batch(step), shape: [batcher.size, ...event] } } : {}),
          };
        },
        examplesPerStep: n,
        epochOf: (step) => (batcher ? batcher.epochOf(step) : 0),
        metricOf,
      },
      {
        totalSteps,
        schedule,
        ...(options.adam ? { adam: options.adam } : {}),
        ...(clip !== undefined ? { clipGradNorm: clip } : {}),
        maxConsecutiveFailures: positiveInt('maxConsecutiveFailures', options.maxConsecutiveFailures, 5),
        maxRollbacks: options.maxRollbacks ?? 5,
        lrBackoff,
        snapshotEvery: positiveInt('snapshotEvery', options.snapshotEvery, 100),
        evalEvery: 0,
        ...(options.checkpoint ? { checkpoint: { dir: options.checkpoint.dir, every: positiveInt('checkpoint.every', options.checkpoint.every, 1000), io: io! } } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onStep ? { onStep: options.onStep } : {}),
      },
      state,
      resumed?.optimizer,
    );
    const loss = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : NaN;
    return {
      engine: program.engine,
      steps: end.step,
      updates: end.updates,
      loss,
      // No step ran (a resume of a finished run): no recent loss, a NaN metric, as trainFlow does.
      metric: Number.isFinite(loss) ? metricOf(loss) : { name: 'natsPerDim', value: NaN },
      rejected: end.rejected,
      rollbacks: end.rollbacks,
      lrScale: end.lrScale,
      stopped,
    };
  } finally {
    await program?.dispose();
  }
}
