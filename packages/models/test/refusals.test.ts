import { describe, expect, test } from 'vitest';
import { createFlow, type FlowRuntime } from '@bijective/core';
import { gatherExamples } from '../src/datasets/batches.js';
import type { Dataset } from '../src/datasets/dataset.js';
import { openRuntime } from '../src/engines.js';
import { evaluate } from '../src/evaluate.js';
import { getPreset } from '../src/node.js';

/** A 2-D dataset with `nTrain` and `nTest` points (values are irrelevant here). */
function vectors(nTrain: number, nTest: number): Dataset {
  return { kind: 'vector', name: 'tiny', dim: 2, train: new Float64Array(2 * nTrain).fill(0.5), test: new Float64Array(2 * nTest).fill(0.5), nTrain, nTest };
}

describe('answers that are right or refused', () => {
  test('evaluating an empty split is an error, not NaN', async () => {
    const rt = await openRuntime(createFlow(getPreset('realnvp-2d').spec()), 'reference');
    try {
      await expect(evaluate(rt, vectors(5, 0), { event: [2] })).rejects.toThrow('the test split of tiny is empty: nothing to evaluate');
      await expect(evaluate(rt, vectors(0, 5), { event: [2], split: 'train' })).rejects.toThrow('the train split of tiny is empty');
      const r = await evaluate(rt, vectors(5, 3), { event: [2] });
      expect(r.n).toBe(3);
      expect(Number.isFinite(r.nll)).toBe(true);
    } finally {
      await rt.dispose();
    }
  });

  test('an example index outside the split is a RangeError naming the split, not a silent zero row', () => {
    expect(() => gatherExamples(vectors(5, 3), 'test', [0, 3], [2])).toThrow(new RangeError('example 3 is out of range: the test split of tiny has 3 examples (0..2)'));
    expect(() => gatherExamples(vectors(5, 3), 'train', [-1], [2])).toThrow(/example -1 is out of range/);
    expect(gatherExamples(vectors(5, 3), 'test', [2], [2]).data).toEqual(Float64Array.from([0.5, 0.5]));
  });

  // Every engine the CLI opens: a call after dispose() and sample() without options are clear errors.
  test.each(['reference', 'tfjs-wasm', 'tfjs-cpu', 'ort-node-cpu'])('%s: use after dispose and sample() with no options are clear errors', async (engine) => {
    const rt: FlowRuntime = await openRuntime(createFlow(getPreset('realnvp-2d').spec()), engine);
    await expect((rt.sample as (o?: unknown) => Promise<unknown>)()).rejects.toThrow(/sample.*(options|n\b)/);
    const x = { data: Float64Array.from([0.1, -0.2]), shape: [1, 2] };
    expect(Number.isFinite((await rt.logProb(x))[0]!)).toBe(true);
    await rt.dispose();
    await rt.dispose(); // twice is harmless
    for (const call of [() => rt.logProb(x), () => rt.encode(x), () => rt.decode(x), () => rt.sample({ n: 1 })]) {
      await expect(call()).rejects.toThrow(/the '[\w-]+' runtime was disposed; open a new one/);
    }
  }, 60_000);
});
