import { describe, expect, it } from 'vitest';
import { referenceRuntime } from '@bijective/core';
import { compareWithReference, toleranceFor } from '../src/check.js';
import { loadWorkload, planCheck, referenceLatent } from '../src/workload.js';

/**
 * The correctness check's plans on the small autoregressive presets, with the interpreter's
 * flop budget shrunk so the sequential direction "does not fit", as MAF sampling and IAF
 * density at D = 784 do not.
 */
describe('check plans', () => {
  const base = { engineId: 'node/test', preset: 'p', batch: 1 };

  it('checks a cheap task directly on --check-batch examples, against the reference output', async () => {
    const w = await loadWorkload('maf-2d');
    const c = await planCheck(w, 'logProb', 4, 1);
    expect(c).toMatchObject({ task: 'logProb', batch: 4, mode: 'direct' });
    expect(c.input.shape).toEqual([4, 2]);
    expect(Array.from(c.expected!)).toEqual(Array.from(await referenceRuntime(w.flow).logProb(c.input)));
  });

  it('checks MAF sampling by inversion when only the density pass fits the budget', async () => {
    const w = await loadWorkload('maf-2d');
    const { logProb, sample } = w.info.flops;
    expect(sample.flops).toBeGreaterThan(logProb.flops); // D sequential passes against one
    const c = await planCheck(w, 'sample', 4, 1, logProb.flops * 1.01);
    expect(c).toMatchObject({ task: 'sample', batch: 1, mode: 'inverse' });
    expect(c.expected).toBeUndefined();
    const tol = toleranceFor('sample', 'inverse');
    // A float32 engine's sample maps back to the noise; a perturbed one does not.
    const x = Float32Array.from((await referenceRuntime(w.flow).decode(c.input)).data);
    const good = compareWithReference({ ...base, task: 'sample' }, referenceLatent(w, x, 1), c.input.data, { compared: c.compared, tolerance: tol });
    expect(good.status).toBe('pass');
    x[1] = x[1]! + 0.01;
    const bad = compareWithReference({ ...base, task: 'sample' }, referenceLatent(w, x, 1), c.input.data, { compared: c.compared, tolerance: tol });
    expect(bad.status).toBe('wrong');
  });

  it('checks IAF density at the reference sample x = f⁻¹(z), against log N(z) + log|det| of the sampling pass', async () => {
    const w = await loadWorkload('iaf-2d');
    const { logProb, sample } = w.info.flops;
    expect(logProb.flops).toBeGreaterThan(sample.flops);
    const c = await planCheck(w, 'logProb', 3, 5, sample.flops * 1.01);
    expect(c).toMatchObject({ task: 'logProb', batch: 1, mode: 'direct' });
    expect(c.compared).toMatch(/log N\(z\)/);
    // The expected value is the density at that x, as the (expensive) density pass gives it.
    const direct = await referenceRuntime(w.flow).logProb(c.input);
    expect(compareWithReference({ ...base, task: 'logProb' }, direct, c.expected!).status).toBe('pass');
    expect(Math.abs(direct[0]! - c.expected![0]!)).toBeLessThan(1e-5);
  });
});
