import { describe, expect, it } from 'vitest';
import {
  Adam,
  DISTILL_DATA_X,
  DISTILL_OUTPUTS,
  Rng,
  distillFlow,
  distillationGraph,
  klEstimate,
  teacherParams,
  TrainingDivergedError,
  createFlow,
  flowFromParams,
  learningRate,
  refTensor,
  runGraph,
  trainFlow,
  type CheckpointIO,
  type Flow,
  type FlowSpec,
  type GradientEngine,
  type Graph,
  type MadeOrder,
  type TensorMap,
  type TrainProgress,
} from '../src/index.js';

/**
 * A GradientEngine over the float64 reference interpreter: gradients by central differences
 * (h = 1e-4, error ~1e-8 here), every result rounded to float32 as a float32 engine returns
 * it (so a loss beyond float32's range is ±Infinity, as on tfjs or ORT). Deterministic, which
 * is all the trainer's bookkeeping tests need.
 */
function referenceDifferences(options: { poison?: (call: number) => boolean } = {}): GradientEngine & { calls: number } {
  const engine = {
    engine: 'reference-differences',
    calls: 0,
    async compile(graph: Graph, { loss, wrt, outputs = [] }: { loss: string; wrt: readonly string[]; outputs?: readonly string[] }) {
      return {
        engine: 'reference-differences',
        async run(inputs: Readonly<Record<string, { data: ArrayLike<number>; shape: readonly number[] }>>, params: Readonly<Record<string, Float32Array>>) {
          const call = engine.calls++;
          const refInputs = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, refTensor(t.data, t.shape)]));
          const batch = Object.values(inputs)[0]!.shape[0]!;
          const p64 = Object.fromEntries(Object.entries(graph.params).map(([k, shape]) => [k, refTensor(params[k]!, shape as number[])]));
          const evalAt = () => runGraph(graph, { params: p64, inputs: refInputs, batch });
          const out = evalAt();
          const lossAt = () => evalAt()[loss]!.data[0]!;
          const grads: Record<string, Float32Array> = {};
          const h = 1e-4;
          for (const name of wrt) {
            const d = p64[name]!.data;
            const g = new Float32Array(d.length);
            for (let i = 0; i < d.length; i++) {
              const x0 = d[i]!;
              d[i] = x0 + h;
              const up = lossAt();
              d[i] = x0 - h;
              const down = lossAt();
              d[i] = x0;
              g[i] = (up - down) / (2 * h);
            }
            grads[name] = g;
          }
          const bad = options.poison?.(call) ?? false;
          return {
            loss: bad ? NaN : Math.fround(out[loss]!.data[0]!),
            outputs: Object.fromEntries(outputs.map((o) => [o, Float32Array.from(out[o]!.data)])),
            grads,
          };
        },
        async dispose() {},
      };
    },
  };
  return engine;
}

/** Checkpoints in memory (copies, so later training cannot change what was saved). */
function memoryIO(): CheckpointIO & { saves: number } {
  const store = new Map<string, { spec: FlowSpec; params: Record<string, { data: Float32Array; shape: number[] }>; meta: Record<string, unknown>; optimizer: TensorMap }>();
  return {
    saves: 0,
    async save(dir, flow, meta, optimizer) {
      this.saves += 1;
      store.set(dir, {
        spec: structuredClone(flow.spec),
        params: Object.fromEntries(Object.entries(flow.params).map(([k, p]) => [k, { data: p.data.slice(), shape: [...p.shape] }])),
        meta: structuredClone(meta),
        optimizer: Object.fromEntries(Object.entries(optimizer).map(([k, t]) => [k, { data: t.data.slice(), shape: [...t.shape] }])),
      });
    },
    async load(dir) {
      const s = store.get(dir);
      if (!s) throw new Error(`no checkpoint in ${dir}`);
      return { flow: flowFromParams(s.spec, Object.fromEntries(Object.entries(s.params).map(([k, p]) => [k, { data: p.data.slice(), shape: [...p.shape] }]))), meta: structuredClone(s.meta), optimizer: s.optimizer };
    },
  };
}

const spec: FlowSpec = {
  version: 1,
  event: [2],
  layers: [
    { type: 'actNorm' },
    { type: 'affineCoupling', mask: 'alternating', parity: 0, conditioner: { type: 'mlp', hidden: [4] } },
    { type: 'affineCoupling', mask: 'alternating', parity: 1, conditioner: { type: 'mlp', hidden: [4] } },
  ],
};
const noActNorm: FlowSpec = { ...spec, layers: spec.layers.slice(1) };

function gaussianData(n: number, seed: number): { data: Float64Array; shape: number[] } {
  const rng = new Rng(seed);
  const data = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const a = rng.normal();
    data[2 * i] = 1 + 0.5 * a;
    data[2 * i + 1] = -2 + 0.8 * a + 0.3 * rng.normal();
  }
  return { data, shape: [n, 2] };
}
const data = gaussianData(64, 3);
const base = { batchSize: 8, lr: 2e-2, warmupSteps: 2, decay: { type: 'cosine' as const }, clipGradNorm: 5, seed: 4 };
const values = (flow: Flow) => Object.fromEntries(Object.entries(flow.params).map(([k, p]) => [k, Array.from(p.data)]));

describe('Adam on host arrays', () => {
  it('matches two updates written out by hand, with the clipping factor, for float32 and float64 parameters', () => {
    const g1 = [0.5, -1, 3];
    const g2 = [-0.25, 2, 1e-3];
    const p0 = [1, -2, 0.5];
    const expected = p0.map((p, i) => {
      const s = 0.5; // gradient scale (clipping) of the first step
      const m1 = 0.1 * s * g1[i]!;
      const v1 = 0.01 * (s * g1[i]!) ** 2;
      const p1 = p - (0.1 * (m1 / 0.1)) / (Math.sqrt(v1 / 0.01) + 1e-8);
      const m2 = 0.9 * m1 + 0.1 * g2[i]!;
      const v2 = 0.99 * v1 + 0.01 * g2[i]! ** 2;
      return p1 - (0.05 * (m2 / (1 - 0.81))) / (Math.sqrt(v2 / (1 - 0.9801)) + 1e-8);
    });
    for (const Array_ of [Float32Array, Float64Array]) {
      const p = { w: Array_.from(p0) };
      const adam = new Adam({ w: 3 }, { beta1: 0.9, beta2: 0.99, epsilon: 1e-8 });
      adam.step(p, { w: Float32Array.from(g1) }, 0.1, 0.5);
      adam.step(p, { w: Float32Array.from(g2) }, 0.05);
      // float32 moments (and float32 parameters) round at ~6e-8 relative.
      p.w.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(2e-7 * Math.max(1, Math.abs(expected[i]!))));
      expect(adam.t).toBe(2);
    }
  });

  it('saves and restores its state exactly; refuses state of the wrong size', () => {
    const adam = new Adam({ w: 2 });
    const p = { w: new Float32Array([1, 2]) };
    adam.step(p, { w: new Float32Array([0.3, -0.7]) }, 0.1);
    const s = adam.state();
    const q = { w: p.w.slice() };
    adam.step(p, { w: new Float32Array([1, 1]) }, 0.1);
    const other = new Adam({ w: 2 });
    other.restore(s);
    other.step(q, { w: new Float32Array([1, 1]) }, 0.1);
    expect(Array.from(q.w)).toEqual(Array.from(p.w));
    expect(() => other.restore({ t: 1, m: { w: new Float32Array(3) }, v: { w: new Float32Array(3) } })).toThrow(/moments of 2 values for parameter 'w'/);
    expect(() => adam.step(p, { w: new Float32Array(5) }, 0.1)).toThrow(/gradient of 'w' must have 2 values, got 5/);
  });
});

describe('learning-rate schedule', () => {
  it('warms up linearly, then follows a cosine to the final fraction', () => {
    const s = { lr: 0.1, warmupSteps: 4, decay: { type: 'cosine' as const, finalFraction: 0.1 }, totalSteps: 14 };
    expect([0, 1, 2, 3].map((i) => learningRate(s, i))).toEqual([0.025, 0.05, 0.075, 0.1].map((v) => expect.closeTo(v, 15)));
    expect(learningRate(s, 4)).toBeCloseTo(0.1, 15);
    // halfway through the decay (step 4 + 9/2): f + (1 − f)/2
    expect(learningRate({ ...s, totalSteps: 15 }, 9)).toBeCloseTo(0.1 * (0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * 5) / 10))), 15);
    expect(learningRate(s, 13)).toBeCloseTo(0.01, 15);
  });
  it('decays exponentially per `every` steps after the warm-up', () => {
    const s = { lr: 1, warmupSteps: 2, decay: { type: 'exponential' as const, gamma: 0.5, every: 10 }, totalSteps: 100 };
    expect(learningRate(s, 2)).toBeCloseTo(1, 15);
    expect(learningRate(s, 22)).toBeCloseTo(0.25, 15);
  });
});

describe('trainFlow on a GradientEngine', () => {
  it('initialises ActNorm on the engine, then lowers the loss', async () => {
    const flow = createFlow(spec, { seed: 1 });
    const events: TrainProgress[] = [];
    const result = await trainFlow(referenceDifferences(), flow, data, { ...base, steps: 40, onStep: (p) => void events.push(p) });
    expect(events[0]).toEqual({ kind: 'init', step: 0, params: expect.arrayContaining(['layers.0.bias', 'layers.0.logScale']) });
    const losses = events.flatMap((e) => (e.kind === 'step' ? [e.loss] : []));
    expect(losses).toHaveLength(40);
    expect(result).toMatchObject({ engine: 'reference-differences', steps: 40, updates: 40, rejected: 0, rollbacks: 0, stopped: false });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // The data's entropy is about 1.2 nats; the initial flow (unit-variance ActNorm output) is ~0.6 nats above it.
    expect(mean(losses.slice(-8))).toBeLessThan(mean(losses.slice(0, 8)) - 0.1);
  });

  it('a run stopped after k steps and resumed for k more ends bit-identical to 2k straight steps', async () => {
    const k = 6;
    const straight = createFlow(spec, { seed: 1 });
    const losses: number[] = [];
    await trainFlow(referenceDifferences(), straight, data, { ...base, steps: 2 * k, onStep: (p) => void (p.kind === 'step' && losses.push(p.loss)) });

    const io = memoryIO();
    const first = createFlow(spec, { seed: 1 });
    const resumedLosses: number[] = [];
    const ctl = new AbortController();
    const partial = await trainFlow(referenceDifferences(), first, data, {
      ...base,
      steps: 2 * k,
      checkpoint: { dir: 'run', every: 1000 },
      checkpointIO: io,
      signal: ctl.signal,
      onStep: (p) => {
        if (p.kind !== 'step') return;
        resumedLosses.push(p.loss);
        if (p.step === k - 1) ctl.abort();
      },
    });
    expect(partial).toMatchObject({ stopped: true, steps: k });
    expect(io.saves).toBe(1);

    const second = createFlow(spec, { seed: 1 });
    const result = await trainFlow(referenceDifferences(), second, data, { ...base, steps: 2 * k, resume: 'run', checkpoint: { dir: 'run' }, checkpointIO: io, onStep: (p) => void (p.kind === 'step' && resumedLosses.push(p.loss)) });
    expect(result.steps).toBe(2 * k);
    expect(resumedLosses).toEqual(losses);
    expect(values(second)).toEqual(values(straight));
    expect(values(first)).not.toEqual(values(straight));
    await expect(trainFlow(referenceDifferences(), createFlow(spec, { seed: 1 }), data, { ...base, seed: 5, steps: 20, resume: 'run', checkpointIO: io })).rejects.toThrow(/seed 4, options.seed is 5/);
  });

  it('rejects a non-finite step without touching the weights or the optimizer', async () => {
    // Every third example overflows float32 in the loss: batches of 2 holding one are rejected.
    const poisoned = Float64Array.from(data.data);
    for (let i = 0; i < 64; i += 3) poisoned[2 * i] = 1e30;
    const flow = createFlow(noActNorm, { seed: 1 });
    let before = values(flow);
    let rejected = 0;
    let accepted = 0;
    const result = await trainFlow(referenceDifferences(), flow, { data: poisoned, shape: data.shape }, {
      ...base,
      batchSize: 2,
      steps: 24,
      decay: { type: 'none' },
      maxConsecutiveFailures: 100,
      onStep: (p) => {
        const now = values(flow);
        if (p.kind === 'rejected') {
          rejected += 1;
          expect(p.reason).toMatch(/loss is -?Infinity|gradient norm is/);
          expect(now).toEqual(before);
        }
        if (p.kind === 'step') {
          accepted += 1;
          expect(now).not.toEqual(before);
        }
        before = now;
      },
    });
    expect(rejected).toBeGreaterThan(3);
    expect(accepted).toBeGreaterThan(3);
    expect(result).toMatchObject({ rejected, updates: accepted, steps: 24 });
  });

  it('rolls back to the last snapshot with a lower learning rate after consecutive failures, then trains on', async () => {
    // Calls 0..3 are steps 0..3 (no ActNorm, no init pass); steps 4, 5, 6 fail; the last snapshot is the state after step 3 (update 4).
    const engine = referenceDifferences({ poison: (call) => call >= 4 && call <= 6 });
    const flow = createFlow(noActNorm, { seed: 1 });
    const atStep: Record<number, ReturnType<typeof values>> = {};
    const events: TrainProgress[] = [];
    const result = await trainFlow(engine, flow, data, {
      ...base,
      steps: 10,
      snapshotEvery: 2,
      maxConsecutiveFailures: 3,
      onStep: (p) => {
        events.push(p);
        if (p.kind === 'step') atStep[p.step] = values(flow);
        if (p.kind === 'rollback') atStep[-1] = values(flow);
      },
    });
    const rollback = events.find((e): e is Extract<TrainProgress, { kind: 'rollback' }> => e.kind === 'rollback')!;
    expect(rollback).toMatchObject({ step: 6, toStep: 4, rollbacks: 1 });
    expect(rollback.reason).toMatch(/3 consecutive non-finite steps \(loss is NaN\)/);
    expect(atStep[-1]).toEqual(atStep[3]);
    expect(atStep[-1]).not.toEqual(atStep[1]);
    expect(result).toMatchObject({ steps: 10, updates: 7, rejected: 3, rollbacks: 1, lrScale: 0.5 });
    const step7 = events.find((e): e is Extract<TrainProgress, { kind: 'step' }> => e.kind === 'step' && e.step === 7)!;
    expect(step7.lr).toBeCloseTo(0.5 * learningRate({ lr: base.lr, warmupSteps: 2, decay: { type: 'cosine' }, totalSteps: 10 }, 7), 15);
  });

  it('gives up with TrainingDivergedError after maxRollbacks, the flow keeping its last good weights', async () => {
    const flow = createFlow(noActNorm, { seed: 1 });
    const initial = values(flow);
    const events: TrainProgress[] = [];
    const run = trainFlow(referenceDifferences({ poison: () => true }), flow, data, { ...base, steps: 50, maxConsecutiveFailures: 2, maxRollbacks: 2, onStep: (p) => void events.push(p) });
    await expect(run).rejects.toThrow(TrainingDivergedError);
    await expect(run).rejects.toThrow(/2 consecutive non-finite steps after 2 rollbacks/);
    expect(events.filter((e) => e.kind === 'rollback')).toHaveLength(2);
    expect(events.filter((e) => e.kind === 'rejected')).toHaveLength(6);
    expect(values(flow)).toEqual(initial);
  });
});

describe('distillFlow on a GradientEngine', () => {
  const made = (type: 'maf' | 'iaf', order: MadeOrder) => ({ type, order, hidden: [6] });
  const chain = (type: 'maf' | 'iaf'): FlowSpec => ({ version: 1, event: [2], layers: [made(type, 'natural'), { type: 'permute', kind: 'reverse' }, made(type, 'natural')] });

  /** KL(q ‖ p) of the student's samples, on the float64 reference, from one fixed batch of 512. */
  function kl(student: Flow, teacher: Flow): { kl: number; stderr: number } {
    const graph = distillationGraph(student, teacher);
    const rng = new Rng(99);
    const z = refTensor(Float64Array.from({ length: 1024 }, () => rng.normal()), [512, 2]);
    const params = Object.fromEntries(
      Object.entries({ ...teacherParams(teacher), ...Object.fromEntries(Object.entries(student.params).map(([k, p]) => [k, p.data])) }).map(([k, v]) => [k, refTensor(v, graph.params[k] as number[])]),
    );
    const out = runGraph(graph, { params, inputs: { z }, batch: 512 });
    return klEstimate(out[DISTILL_OUTPUTS.logQ]!.data, out[DISTILL_OUTPUTS.logP]!.data);
  }

  it('lowers the reverse KL to a frozen teacher, leaving the teacher untouched; resumes bit-identically', async () => {
    const teacher = createFlow(chain('maf'), { seed: 3 });
    for (const p of Object.values(teacher.params)) for (let i = 0; i < p.data.length; i++) p.data[i] = p.data[i]! + 0.4 * Math.sin(7 * i + p.data.length);
    const teacherBefore = values(teacher);
    const student = createFlow(chain('iaf'), { seed: 5 });
    const before = kl(student, teacher);
    const options = { batchSize: 32, lr: 3e-2, steps: 40, seed: 2 };
    const result = await distillFlow(referenceDifferences(), student, teacher, options);
    const after = kl(student, teacher);
    expect(result).toMatchObject({ steps: 40, updates: 40, rejected: 0 });
    expect(values(teacher)).toEqual(teacherBefore);
    expect(before.kl).toBeGreaterThan(0.2);
    expect(after.kl).toBeLessThan(before.kl / 2);

    const io = memoryIO();
    const ctl = new AbortController();
    const again = createFlow(chain('iaf'), { seed: 5 });
    await distillFlow(referenceDifferences(), again, teacher, { ...options, checkpoint: { dir: 'd' }, checkpointIO: io, signal: ctl.signal, onStep: (p) => void (p.kind === 'step' && p.step === 19 && ctl.abort()) });
    const resumed = createFlow(chain('iaf'), { seed: 5 });
    await distillFlow(referenceDifferences(), resumed, teacher, { ...options, resume: 'd', checkpointIO: io });
    expect(values(resumed)).toEqual(values(student));
  });

  it('with pairWeight feeds batches of data: lowers the pair term, resumes bit-identically, refuses missing or too little data', async () => {
    const teacher = createFlow(chain('maf'), { seed: 3 });
    for (const p of Object.values(teacher.params)) for (let i = 0; i < p.data.length; i++) p.data[i] = p.data[i]! + 0.4 * Math.sin(7 * i + p.data.length);
    const rng = new Rng(7);
    const data = { data: Float64Array.from({ length: 2 * 96 }, () => 1.5 * rng.normal()), shape: [96, 2] };
    /** The pair term on all 96 data points (float64 reference). */
    const pair = (student: Flow): number => {
      const graph = distillationGraph(student, teacher, { pairWeight: 1 });
      const params = Object.fromEntries(
        Object.entries({ ...teacherParams(teacher), ...Object.fromEntries(Object.entries(student.params).map(([k, p]) => [k, p.data])) }).map(([k, v]) => [k, refTensor(v, graph.params[k] as number[])]),
      );
      const z = refTensor(new Float64Array(2 * 96), [96, 2]);
      return runGraph(graph, { params, inputs: { z, [DISTILL_DATA_X]: refTensor(data.data, [96, 2]) }, batch: 96 })[DISTILL_OUTPUTS.pairLoss]!.data[0]!;
    };
    const student = createFlow(chain('iaf'), { seed: 5 });
    const before = pair(student);
    const options = { batchSize: 32, lr: 1e-2, steps: 30, seed: 2, pairWeight: 1, data };
    const result = await distillFlow(referenceDifferences(), student, teacher, options);
    expect(result).toMatchObject({ steps: 30, updates: 30, rejected: 0 });
    expect(before).toBeGreaterThan(0.1);
    expect(pair(student)).toBeLessThan(before / 2);

    const io = memoryIO();
    const ctl = new AbortController();
    const again = createFlow(chain('iaf'), { seed: 5 });
    await distillFlow(referenceDifferences(), again, teacher, { ...options, checkpoint: { dir: 'd' }, checkpointIO: io, signal: ctl.signal, onStep: (p) => void (p.kind === 'step' && p.step === 14 && ctl.abort()) });
    const resumed = createFlow(chain('iaf'), { seed: 5 });
    await distillFlow(referenceDifferences(), resumed, teacher, { ...options, resume: 'd', checkpointIO: io });
    expect(values(resumed)).toEqual(values(student));

    const fresh = () => createFlow(chain('iaf'), { seed: 5 });
    await expect(distillFlow(referenceDifferences(), fresh(), teacher, { steps: 2, pairWeight: 1 })).rejects.toThrow(/pairWeight > 0 needs data/);
    await expect(distillFlow(referenceDifferences(), fresh(), teacher, { steps: 2, batchSize: 128, pairWeight: 1, data })).rejects.toThrow(/96 examples, fewer than the batch size 128/);
    await expect(distillFlow(referenceDifferences(), fresh(), teacher, { steps: 2, pairWeight: 1, data: { data: data.data, shape: [64, 3] } })).rejects.toThrow(/distill: data: shape \[64, 3\], expected \[M, 2\]/);
  });

  it('refuses a student with layers waiting for data-dependent initialisation', async () => {
    const teacher = createFlow(chain('maf'), { seed: 3 });
    const student = createFlow({ ...chain('iaf'), layers: [{ type: 'actNorm' }, ...chain('iaf').layers] }, { seed: 5 });
    await expect(distillFlow(referenceDifferences(), student, teacher, { steps: 2 })).rejects.toThrow(/initialised from data/);
  });
});
