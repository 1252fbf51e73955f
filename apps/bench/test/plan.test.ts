import { describe, expect, it } from 'vitest';
import { sampleNoise } from '@bijective/core';
import { compareWithReference } from '../src/check.js';
import { BROWSER_ENGINES, NODE_ENGINES, resolveAvailability } from '../src/engines.js';
import { checksum, makeInput } from '../src/inputs.js';
import { FULL_PRESETS, PlanError, QUICK_BATCHES, QUICK_PRESETS, makePlan, selectEngines, timestampFolder } from '../src/plan.js';
import { parseCli } from '../src/cli.js';

describe('engine selection', () => {
  it('runs every engine of both hosts by default', () => {
    const s = selectEngines(undefined);
    expect(s.engines).toEqual({ node: [...NODE_ENGINES], chromium: [...BROWSER_ENGINES] });
    expect(s.deselected).toEqual([]);
  });

  it('takes a bare name in every host that has it, a host-qualified one in that host only', () => {
    const s = selectEngines(['tfjs-wasm', 'node/ort-node-cpu', 'chromium/tfjs-webgpu']);
    expect(s.engines).toEqual({ node: ['tfjs-wasm', 'ort-node-cpu'], chromium: ['tfjs-wasm', 'tfjs-webgpu'] });
    expect(s.deselected).toHaveLength(NODE_ENGINES.length + BROWSER_ENGINES.length - 4);
    expect(s.deselected).toContainEqual({ host: 'chromium', engine: 'ort-web-wasm', reason: 'not selected (--engines)' });
  });

  it('refuses unknown engines and hosts, naming the known ones', () => {
    expect(() => selectEngines(['tfjs-cuda'])).toThrow(/unknown engine 'tfjs-cuda'; node engines: tfjs-cpu, tfjs-wasm/);
    expect(() => selectEngines(['chromium/ort-node-cpu'])).toThrow(PlanError);
    expect(() => selectEngines(['deno/tfjs-wasm'])).toThrow(/host must be 'node' or 'chromium'/);
  });

  it('keeps engines no backend lists, as unavailable with that reason', () => {
    const a = resolveAvailability(['tfjs-cpu', 'tfjs-metal'], [{ engine: 'tfjs-cpu', available: true }], 'Node');
    expect(a).toEqual([{ engine: 'tfjs-cpu', available: true }, { engine: 'tfjs-metal', available: false, reason: "no backend lists 'tfjs-metal' in Node" }]);
  });
});

describe('the plan from the command line', () => {
  const now = new Date('2026-03-04T05:06:07.890Z');

  it('is a quick run by default, into bench-results/<timestamp>', () => {
    const p = makePlan(parseCli([]), now, '/repo');
    expect(p.mode).toBe('quick');
    expect(p.presets).toEqual(QUICK_PRESETS);
    expect(p.batches).toEqual(QUICK_BATCHES);
    expect(p.tasks).toEqual(['logProb', 'sample']);
    expect(p.browser).toBe(true);
    expect(p.out).toBe('/repo/bench-results/2026-03-04T05-06-07Z');
    expect(timestampFolder(now)).not.toMatch(/:/);
  });

  it('reads --full, --engines, --presets, --batch, --tasks, --no-browser, --out and the timing overrides', () => {
    const p = makePlan(
      parseCli(['--full', '--engines', 'tfjs-wasm,node/ort-node-cpu', '--presets', 'maf-784,iaf-784', '--batch', '64,1,64', '--tasks', 'sample', '--no-browser', '--out', 'x', '--min-time', '10', '--max-time', '40']),
      now,
      '/repo',
    );
    expect(p.mode).toBe('full');
    expect(p.engines).toEqual({ node: ['tfjs-wasm', 'ort-node-cpu'], chromium: [] });
    expect(p.deselected).toContainEqual({ host: 'chromium', engine: 'tfjs-wasm', reason: 'browser engines turned off (--no-browser)' });
    expect(p.presets).toEqual(['maf-784', 'iaf-784']);
    expect(p.batches).toEqual([1, 64]);
    expect(p.tasks).toEqual(['sample']);
    expect(p.out).toBe('x');
    expect(p.timing.rule).toMatchObject({ minTimeMs: 10, maxTimeMs: 40, hardMaxTimeMs: 160 });
    expect(makePlan(parseCli(['--full']), now, '/r').presets).toEqual(FULL_PRESETS);
    expect(makePlan(parseCli(['--tasks', 'train,logProb,train']), now, '/r').tasks).toEqual(['train', 'logProb']);
  });

  it('refuses impossible options', () => {
    expect(() => makePlan(parseCli(['--min-time', '500', '--max-time', '100']), now, '/r')).toThrow(/--min-time 500 ms is above --max-time 100 ms/);
  });
});

describe('identical inputs and the reference check', () => {
  it('builds the same inputs from the same seed, and the sample noise core draws for sample({ n, seed })', () => {
    const a = makeInput([2], 'logProb', 8, 'normal', 1);
    expect(a.shape).toEqual([8, 2]);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(Array.from(makeInput([2], 'logProb', 8, 'normal', 1).data)).toEqual(Array.from(a.data));
    expect(checksum(makeInput([2], 'logProb', 8, 'normal', 2).data)).not.toBe(checksum(a.data));
    const u = makeInput([1, 4, 4], 'logProb', 3, 'unit', 1);
    expect(u.shape).toEqual([3, 1, 4, 4]);
    expect(Math.min(...u.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u.data)).toBeLessThanOrEqual(1);
    const z = makeInput([5], 'sample', 4, 'unit', 7);
    expect(z.shape).toEqual([4, 5]);
    const seedUsed = (7 * 1_000_003 + 29 * 65_537 + 4) >>> 0;
    expect(Array.from(z.data)).toEqual(Array.from(Float32Array.from(sampleNoise({ n: 4, seed: seedUsed }, [5]).data)));
  });

  const base = { engineId: 'node/x', preset: 'p', task: 'logProb' as const, batch: 3 };

  it('passes float32 rounding of the reference and fails anything beyond the conformance tolerance', () => {
    const ref = [-1234.5678, 2.25, -0.001];
    expect(compareWithReference(base, Float32Array.from(ref), ref).status).toBe('pass');
    // rtol 1e-4: an error of 0.2 nats on −1234.6 passes (bound 0.1235), 0.2 on 2.25 does not.
    expect(compareWithReference(base, [ref[0]! + 0.12, ref[1]!, ref[2]!], ref).status).toBe('pass');
    const wrong = compareWithReference(base, [ref[0]!, 2.45, ref[2]!], ref);
    expect(wrong).toMatchObject({ status: 'wrong', worst: { index: 1 } });
    expect(wrong.maxAbsError).toBeCloseTo(0.2, 12);
    expect(wrong.message).toMatch(/entry 1 is 2.45, reference 2.25/);
  });

  it('calls NaN outputs and wrong lengths wrong, and a non-finite reference an error', () => {
    expect(compareWithReference(base, [NaN, 2.25, -0.001], [-1, 2.25, -0.001])).toMatchObject({ status: 'wrong', maxAbsError: null });
    expect(compareWithReference(base, [1, 2], [1, 2, 3]).status).toBe('wrong');
    expect(compareWithReference(base, [1, 2], [1, -Infinity])).toMatchObject({ status: 'error', message: expect.stringMatching(/not finite/) });
    const sample = compareWithReference({ ...base, task: 'sample' }, [1.0009], [1]);
    expect(sample).toMatchObject({ status: 'pass', tolerance: { rtol: 1e-3, atol: 1e-4 } });
  });
});
