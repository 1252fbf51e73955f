import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { createFlow, type Flow, type FlowSpec } from '@bijective/core';
import { loadCheckpoint } from '@bijective/core/node';
import { TrainingDivergedError, learningRate, train, useEngine, type TrainProgress } from '../src/node.js';
import { sampleMixture } from './mixture.js';

const spec: FlowSpec = {
  version: 1,
  event: [2],
  layers: [
    { type: 'actNorm' },
    { type: 'affineCoupling', mask: 'alternating', parity: 0, conditioner: { type: 'mlp', hidden: [8] } },
    { type: 'affineCoupling', mask: 'alternating', parity: 1, conditioner: { type: 'mlp', hidden: [8] } },
  ],
};
const data = { data: sampleMixture(256, 5), shape: [256, 2] };
const base = { engine: 'tfjs-cpu', batchSize: 16, lr: 1e-2, warmupSteps: 3, decay: { type: 'cosine' as const }, clipGradNorm: 5, seed: 9 };

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'bijective-tfjs-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const snapshot = (flow: Flow) => Object.fromEntries(Object.entries(flow.params).map(([k, p]) => [k, Float32Array.from(p.data)]));

describe('checkpoints and resume', () => {
  it('a run resumed from a checkpoint ends bit-identical to the uninterrupted run', async () => {
    const straight = createFlow(spec, { seed: 1 });
    const losses: number[] = [];
    await train(straight, data, { ...base, steps: 12, onStep: (p) => void (p.kind === 'step' && losses.push(p.loss)) });

    const dir = await tempDir();
    const first = createFlow(spec, { seed: 1 });
    const resumedLosses: number[] = [];
    const onStep = (p: TrainProgress) => void (p.kind === 'step' && resumedLosses.push(p.loss));
    // Interrupted after 6 of 12 steps (the schedule is the 12-step one), saving a checkpoint.
    const ctl = new AbortController();
    const stop = (p: TrainProgress) => {
      onStep(p);
      if (p.kind === 'step' && p.step === 5) ctl.abort();
    };
    const partial = await train(first, data, { ...base, steps: 12, checkpoint: { dir, every: 1000 }, onStep: stop, signal: ctl.signal });
    expect(partial.stopped).toBe(true);
    const saved = await loadCheckpoint(dir);
    expect((saved.meta.training as { step: number }).step).toBe(6);

    const second = createFlow(spec, { seed: 1 });
    const result = await train(second, data, { ...base, steps: 12, resume: dir, checkpoint: { dir, every: 1000 }, onStep });
    expect(result.steps).toBe(12);
    expect(resumedLosses).toEqual(losses);
    for (const [name, p] of Object.entries(straight.params)) expect(Array.from(second.params[name]!.data), name).toEqual(Array.from(p.data));
    const final = await loadCheckpoint(dir);
    expect((final.meta.training as { step: number }).step).toBe(12);
    expect(Array.from(final.flow.params['layers.1.conditioner.w0']!.data)).toEqual(Array.from(straight.params['layers.1.conditioner.w0']!.data));
  });

  it('refuses to resume with another seed or another flow', async () => {
    const dir = await tempDir();
    await train(createFlow(spec, { seed: 1 }), data, { ...base, steps: 2, checkpoint: { dir } });
    await expect(train(createFlow(spec, { seed: 1 }), data, { ...base, seed: 10, steps: 4, resume: dir })).rejects.toThrow(/seed 9, options.seed is 10/);
    const other = { ...spec, layers: spec.layers.slice(0, 2) };
    await expect(train(createFlow(other, { seed: 1 }), data, { ...base, steps: 4, resume: dir })).rejects.toThrow(/different flow spec/);
  });
});

describe('non-finite steps', () => {
  it('are rejected without touching the weights; accepted steps go on', async () => {
    // Every third example is huge: its batch's loss overflows float32.
    const poisoned = Float64Array.from(data.data);
    for (let i = 0; i < 256; i += 3) poisoned[2 * i] = 1e30;
    const flow = createFlow(spec, { seed: 1 });
    let last = snapshot(flow);
    let rejected = 0;
    let accepted = 0;
    const result = await train(flow, { data: poisoned, shape: data.shape }, {
      ...base,
      batchSize: 2,
      steps: 30,
      maxConsecutiveFailures: 100,
      onStep: async (p) => {
        const now = snapshot(flow);
        if (p.kind === 'rejected') {
          rejected += 1;
          expect(p.reason).toMatch(/loss is|gradient norm is/);
          for (const [k, v] of Object.entries(now)) expect(Array.from(v), `${k} after rejected step ${p.step}`).toEqual(Array.from(last[k]!));
        }
        if (p.kind === 'step') {
          accepted += 1;
          expect(Number.isFinite(p.loss)).toBe(true);
        }
        last = now;
      },
    });
    expect(rejected).toBeGreaterThan(3);
    expect(accepted).toBeGreaterThan(3);
    expect(result.rejected).toBe(rejected);
    expect(result.updates).toBe(accepted);
    for (const p of Object.values(flow.params)) for (const v of p.data) expect(Number.isFinite(v)).toBe(true);
  });

  it('a diverged periodic evaluation rolls back like a divergent step (not an abort on a non-finite metric)', async () => {
    const flow = createFlow({ ...spec, layers: spec.layers.slice(1) }, { seed: 1 });
    const initial = snapshot(flow);
    const events: TrainProgress[] = [];
    const run = train(flow, data, {
      ...base,
      batchSize: 32,
      steps: 200,
      maxRollbacks: 2,
      snapshotEvery: 1000,
      validation: { data: Float64Array.from(data.data, (v) => v * 1e30), shape: data.shape },
      evalEvery: 4,
      onStep: (p) => void events.push(p),
    });
    await expect(run).rejects.toThrow(/a non-finite evaluation loss .* after 2 rollbacks/);
    const rollbacks = events.filter((e): e is Extract<TrainProgress, { kind: 'rollback' }> => e.kind === 'rollback');
    expect(rollbacks.map((r) => [r.step, r.toStep])).toEqual([[3, 0], [7, 0]]);
    expect(rollbacks[0]!.reason).toMatch(/periodic evaluation's loss is (NaN|-?Infinity)/);
    expect(events.some((e) => e.kind === 'eval')).toBe(false);
    // Rolled back to the snapshot before the first step: the initial weights.
    expect(snapshot(flow)).toEqual(initial);
  });

  it('roll back to the last good state with a lower learning rate, then give up', async () => {
    // No ActNorm here: its data-dependent initialisation would refuse the overflowing batch.
    const flow = createFlow({ ...spec, layers: spec.layers.slice(1) }, { seed: 1 });
    const initial = snapshot(flow);
    const bad = Float64Array.from(data.data, (v) => v * 1e30);
    const events: TrainProgress[] = [];
    const run = train(flow, { data: bad, shape: data.shape }, {
      ...base,
      batchSize: 32,
      steps: 200,
      maxConsecutiveFailures: 3,
      maxRollbacks: 2,
      lrBackoff: 0.5,
      snapshotEvery: 1,
      onStep: (p) => void events.push(p),
    });
    await expect(run).rejects.toThrow(TrainingDivergedError);
    const rollbacks = events.filter((e): e is Extract<TrainProgress, { kind: 'rollback' }> => e.kind === 'rollback');
    expect(rollbacks).toHaveLength(2);
    expect(rollbacks.map((r) => r.rollbacks)).toEqual([1, 2]);
    expect(rollbacks[1]!.lr / rollbacks[0]!.lr).toBeCloseTo(0.5 * (learningRate({ lr: 1, warmupSteps: 3, decay: { type: 'cosine' }, totalSteps: 200 }, rollbacks[1]!.step + 1) / learningRate({ lr: 1, warmupSteps: 3, decay: { type: 'cosine' }, totalSteps: 200 }, rollbacks[0]!.step + 1)), 10);
    expect(events.filter((e) => e.kind === 'rejected')).toHaveLength(9);
    // Never a good step: the flow keeps its initial values.
    for (const [name, p] of Object.entries(flow.params)) expect(Array.from(p.data), name).toEqual(Array.from(initial[name]!));
  });

  it('a data-dependent initialisation that overflows is refused with the parameter named', async () => {
    const flow = createFlow(spec, { seed: 1 });
    const bad = Float64Array.from(data.data, (v) => v * 1e30);
    await expect(train(flow, { data: bad, shape: data.shape }, { ...base, steps: 1 })).rejects.toThrow(/init:layers\.0\.logScale/);
  });
});

describe('stopping and memory', () => {
  it('an abort signal stops after the current step, keeping the trained values', async () => {
    const flow = createFlow(spec, { seed: 1 });
    const initial = snapshot(flow);
    const ctl = new AbortController();
    const result = await train(flow, data, { ...base, steps: 100, signal: ctl.signal, onStep: (p) => void (p.kind === 'step' && p.step === 4 && ctl.abort()) });
    expect(result.stopped).toBe(true);
    expect(result.steps).toBe(5);
    expect(Array.from(flow.params['layers.1.conditioner.w0']!.data)).not.toEqual(Array.from(initial['layers.1.conditioner.w0']!));
  });

  it('training leaves no tensors behind', async () => {
    await (await useEngine('tfjs-cpu')).activate();
    const before = tf.memory().numTensors;
    await train(createFlow(spec, { seed: 1 }), data, { ...base, steps: 5 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('validates options', async () => {
    const flow = createFlow(spec, { seed: 1 });
    await expect(train(flow, data, { ...base, steps: 0 })).rejects.toThrow(/steps must be a positive integer/);
    await expect(train(flow, { data: data.data, shape: [128, 4] }, { ...base, steps: 1 })).rejects.toThrow(/expected \[M, 2\]/);
    await expect(train(flow, data, { ...base, steps: 1, dequantize: { bins: 256 } })).rejects.toThrow(/integers in 0..255/);
  });
});
