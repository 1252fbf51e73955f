import { beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, referenceGradientEngine, trainableParams, type GradientEngine } from '@bijective/core';
import { GRADIENT_TOLERANCE, compareTrain, type TrainReference } from '../src/check.js';
import { parseCli } from '../src/cli.js';
import { Collector, cellKey } from '../src/collector.js';
import { runEngineJob, type HostEnv, type HostEvent } from '../src/host.js';
import { makePlan } from '../src/plan.js';
import { cannotTrain, jobFor } from '../src/jobs.js';
import { silentLog } from '../src/terminal.js';
import { validateResults } from '../src/validate.js';
import { RESULTS_SCHEMA, type BenchResults } from '../src/results.js';
import { KINK_PROBE, loadWorkload, planCheck, smoothAt, trainFlops, type Workload } from '../src/workload.js';

/**
 * The train task without worker processes: the same job, host loop and collector the bench
 * runs, on engines given here — core's float64 reference gradients (right by definition) and a
 * fake engine whose gradients are 1% off (must be caught by the gradient check).
 */

const base = { engineId: 'node/test', preset: 'p', task: 'train' as const, batch: 2 };

describe('the gradient check', () => {
  const ref: TrainReference = { loss: 3.5, grads: Float64Array.of(2, -0.5, 1e-7, 0), params: [{ name: 'a', size: 2 }, { name: 'b', size: 2 }] };
  const compared = 'loss and gradients';

  it('passes float32 rounding of the reference, scaling atol by the largest gradient', () => {
    const c = compareTrain(base, Float32Array.of(ref.loss, ...ref.grads), ref, compared);
    expect(c).toMatchObject({ status: 'pass', tolerance: { rtol: GRADIENT_TOLERANCE.rtol, atol: GRADIENT_TOLERANCE.atolScale * 2 } });
    // An entry near zero may carry the flow's float32 cancellation error: 1e-4 of the largest gradient.
    expect(compareTrain(base, [ref.loss, 2, -0.5, 1e-7, 1.5e-4], ref, compared).status).toBe('pass');
  });

  it('calls a gradient beyond the tolerance WRONG, naming the parameter and entry', () => {
    const c = compareTrain(base, [ref.loss, 2, -0.5, 1e-7, 3e-4], ref, compared);
    expect(c.status).toBe('wrong');
    expect(c.message).toMatch(/^d loss \/ d b\[1\] is 0\.0003, reference 0 /);
    expect(c.worst!.index).toBe(4);
    expect(compareTrain(base, [ref.loss, 2.01, -0.5, 1e-7, 0], ref, compared).message).toMatch(/d loss \/ d a\[0\]/);
  });

  it('holds the loss to the logProb tolerance, and calls NaN and wrong lengths WRONG', () => {
    expect(compareTrain(base, [ref.loss + 0.01, ...ref.grads], ref, compared)).toMatchObject({ status: 'wrong', message: expect.stringMatching(/^the loss is 3\.51, reference 3\.5/) });
    expect(compareTrain(base, [ref.loss, NaN, -0.5, 0, 0], ref, compared)).toMatchObject({ status: 'wrong', maxAbsError: null });
    expect(compareTrain(base, [ref.loss, 2, -0.5, 0], ref, compared)).toMatchObject({ status: 'wrong', message: '4 values, the reference has 5' });
    expect(compareTrain(base, [NaN, ...ref.grads], { ...ref, loss: Infinity }, compared).status).toBe('error');
  });
});

/** Core's reference gradients, with every gradient multiplied by `factor` (1: right). */
function gradientEngine(name: string, factor = 1, seen?: Float32Array[]): GradientEngine {
  return {
    engine: name,
    async compile(graph, options) {
      const inner = await referenceGradientEngine.compile(graph, options);
      return {
        engine: name,
        async run(inputs, params) {
          seen?.push(params[options.wrt[0]!]!.slice());
          const out = await inner.run(inputs, params);
          if (factor !== 1) for (const g of Object.values(out.grads)) for (let i = 0; i < g.length; i++) g[i]! *= factor;
          return out;
        },
        dispose: () => inner.dispose(),
      };
    },
  };
}

async function runTrainCells(w: Workload, engines: Record<string, GradientEngine>) {
  const plan = makePlan(parseCli(['--tasks', 'train', '--presets', w.info.name, '--batch', '16', '--no-browser', '--warmup', '0', '--min-time', '1', '--max-time', '5000', '--min-samples', '3']), new Date(), '/tmp');
  const check = await planCheck(w, 'train', plan.checkBatch, plan.seed);
  const checks = new Map([[cellKey(w.info.name, 'train'), check]]);
  const collector = new Collector(plan, new Map([[w.info.name, w]]), checks, undefined, Object.keys(engines).length, silentLog);
  for (const [name, engine] of Object.entries(engines)) {
    const env: HostEnv = {
      clock: performance,
      memory: { kind: 'none', begin: () => undefined, sample: () => undefined, end: async () => undefined },
      params: async () => w.flow.params,
      createRuntime: openRuntime,
      openGradients: async () => engine,
      emit: (e: HostEvent) => collector.handle('node', name, e),
    };
    await runEngineJob(jobFor(name, plan.tasks, plan, [w], checks), env);
  }
  return { plan, check, collector };
}

describe('the kink probe of the check batch', () => {
  it('accepts reference gradients at x ± δ that agree within the check tolerance, and rejects a jump like a ReLU kink', () => {
    const g = Float64Array.from([-2.7308354, 814.1, 3.5, 0]);
    // float32-sized noise on every entry: smooth.
    expect(smoothAt(g, Float64Array.from(g, (v) => v * (1 + 1e-6) + 1e-5))).toBe(true);
    // glow-fmnist-small's shipped weights of 2026-12-08: one entry −2.7308 → −2.1574 across 1e-7.
    const kinked = Float64Array.from(g);
    kinked[0] = -2.1574035;
    expect(smoothAt(g, kinked)).toBe(false);
    expect(KINK_PROBE).toBeLessThan(1e-5);
  });
});

describe('train cells (realnvp-2d, batch 16)', () => {
  let w: Workload;
  const seen: Float32Array[] = [];
  let plan: Awaited<ReturnType<typeof runTrainCells>>['plan'];
  let check: Awaited<ReturnType<typeof runTrainCells>>['check'];
  let collector: Collector;
  beforeAll(async () => {
    w = await loadWorkload('realnvp-2d', { train: true });
    ({ plan, check, collector } = await runTrainCells(w, { reference: gradientEngine('reference', 1, seen), faulty: gradientEngine('faulty', 1.01) }));
  }, 60_000);
  const cell = (engine: string) => collector.measurements.find((m) => m.engineId === `node/${engine}`)!;
  const checkOf = (engine: string) => collector.checks.find((c) => c.engineId === `node/${engine}`)!;

  it('plans the check on the reference gradients of every trainable parameter, and counts the gradient graph', () => {
    expect(check).toMatchObject({ task: 'train', batch: 4, mode: 'direct' });
    expect(check.train!.params.map((p) => p.name)).toEqual(trainableParams(w.flow));
    expect(check.train!.grads.length).toBe(trainableParams(w.flow).reduce((a, n) => a + w.flow.params[n]!.data.length, 0));
    expect(w.info.flops.train).toEqual(trainFlops(w.flow));
    // Forward and backward: a few times the density pass.
    expect(w.info.flops.train!.flops).toBeGreaterThan(2 * w.info.flops.logProb.flops);
  });

  it('times a training step of an engine whose gradients match: check passed, positive throughput and GFLOP/s', () => {
    expect(checkOf('reference')).toMatchObject({ status: 'pass', task: 'train', batch: 4 });
    const m = cell('reference');
    expect(m).toMatchObject({ status: 'ok', task: 'train', batch: 16 });
    expect(m.timing!.samples).toBeGreaterThanOrEqual(3);
    expect(m.throughput).toBeGreaterThan(0);
    expect(m.throughput).toBeCloseTo(16 / (m.timing!.medianMs / 1000), 6);
    expect(m.gflops).toBeCloseTo((w.info.flops.train!.flops * 16) / (m.timing!.medianMs / 1000) / 1e9, 9);
  });

  it('each timed call is a full step: the weights it is given change from call to call (Adam), the check saw the initial ones', () => {
    const first = trainableParams(w.flow)[0]!;
    expect(Array.from(seen[0]!)).toEqual(Array.from(w.flow.params[first]!.data));
    expect(seen.length).toBeGreaterThan(5);
    const last = seen[seen.length - 1]!;
    expect(last.some((v, i) => v !== seen[seen.length - 2]![i])).toBe(true);
    // The bench trains a copy: the preset's weights are untouched.
    expect(Array.from(w.flow.params[first]!.data)).toEqual(Array.from(seen[0]!));
  });

  it('marks an engine whose gradients are 1% off WRONG: timed, flagged, never ok', () => {
    const c = checkOf('faulty');
    expect(c.status).toBe('wrong');
    expect(c.message).toMatch(/^d loss \/ d \S+\[\d+\] is /);
    expect(cell('faulty')).toMatchObject({ status: 'wrong', task: 'train' });
    expect(cell('faulty').timing).toBeDefined();
  });

  it('gives a valid results file, with an engine that cannot train listed as not timed', () => {
    expect(cannotTrain({ engine: 'tfjs-wasm', trains: true })).toBeUndefined();
    const why = cannotTrain({ engine: 'ort-web-webgpu', trains: false })!;
    expect(why).toMatch(/ort-web-webgpu runs flows but cannot train them/);
    collector.skipTask('node', 'no-grad', 'train', why);
    const r: BenchResults = {
      schema: RESULTS_SCHEMA,
      startedAt: '',
      finishedAt: '',
      durationS: 1,
      command: 'test',
      options: { mode: plan.mode, engines: [], presets: plan.presets, batches: plan.batches, tasks: plan.tasks, browser: false, checkBatch: plan.checkBatch, timing: {} },
      machine: { cpuModel: 'test', cores: 1, memoryBytes: 1, os: 'test', platform: 'linux', arch: 'x64', node: '20', v8: '11' },
      gemm: { skipped: 'test' },
      engines: ['reference', 'faulty', 'no-grad'].map((e) => ({ id: `node/${e}`, engine: e, host: 'node' as const, status: 'ran' as const, versions: {} })),
      presets: [w.info],
      checks: collector.checks,
      measurements: collector.measurements,
      notes: [],
    };
    expect(validateResults(r)).toEqual([]);
    expect(collector.measurements.find((m) => m.engineId === 'node/no-grad')).toMatchObject({ status: 'skipped', task: 'train', batch: 16, error: why });
    // A train row whose check is WRONG but that claims ok is caught.
    const bad = structuredClone(r);
    bad.measurements.find((m) => m.engineId === 'node/faulty')!.status = 'ok';
    expect(validateResults(bad)).toEqual([expect.stringMatching(/node\/faulty realnvp-2d train @16: status ok but its check is wrong/)]);
  });
});
