import { Rng, type FlowRuntime, type Tensor } from '@bijective/core';
import { describe, expect, test } from 'vitest';
import { batchStream, evaluate, gatherExamples, gaussianMixture2D, imageSet, type ImageDataset, type VectorDataset } from '../src/node.js';

/** A tiny image dataset: 10 "images" of 1×2×2 with known bytes. */
function tinyImages(): ImageDataset {
  const train = new Uint8Array(40).map((_, i) => (i * 29) % 256);
  const test = new Uint8Array(12).map((_, i) => [0, 255, 128, 7][i % 4]!);
  return { kind: 'image', name: 'tiny', shape: [1, 2, 2], train: imageSet([1, 2, 2], train), test: imageSet([1, 2, 2], test), bins: 256 };
}

/** A runtime whose log-density is a fixed function, recording what it was given. */
function fakeRuntime(logProb: (x: Tensor, i: number) => number, seen: Tensor[] = []): FlowRuntime {
  return {
    engine: 'fake',
    async logProb(x) {
      seen.push({ data: Float64Array.from(x.data), shape: [...x.shape] });
      return Float64Array.from({ length: x.shape[0]! }, (_, i) => logProb(x, i));
    },
    encode: () => Promise.reject(new Error('unused')),
    decode: () => Promise.reject(new Error('unused')),
    sample: () => Promise.reject(new Error('unused')),
    dispose: async () => {},
  };
}

describe('dequantisation and bits/dim', () => {
  test('a uniform model on [0, 1)^D scores exactly 8 bits/dim; density 2^−D scores 9', async () => {
    const data = tinyImages();
    const seen: Tensor[] = [];
    const uniform = await evaluate(fakeRuntime(() => 0, seen), data, { event: [1, 2, 2], batch: 2 });
    expect(uniform.n).toBe(3);
    expect(uniform.bitsPerDim).toBe(8);
    // nll of the 8-bit data: D·log 256 nats per image.
    expect(uniform.nll).toBeCloseTo(4 * Math.log(256), 12);
    expect(uniform.nllDequantized).toBe(0);
    // Every dequantised value lies in its byte's bin [k/256, (k+1)/256).
    const xs = seen.flatMap((t) => Array.from(t.data));
    expect(xs.map((x) => Math.floor(256 * x))).toEqual(Array.from(data.test.data));
    expect(xs.every((x, i) => x !== data.test.data[i]! / 256)).toBe(true); // noise was added
    const half = await evaluate(fakeRuntime(() => -4 * Math.LN2), data, { event: [1, 2, 2] });
    expect(half.bitsPerDim).toBeCloseTo(9, 12);
    // A 4-pixel image flattened to a [4] event is the same data.
    expect((await evaluate(fakeRuntime(() => 0), data, { event: [4] })).bitsPerDim).toBe(8);
  });

  test('hand-computed: log q = −1000 on 784 dims → (1000 + 784·ln 256) / (784·ln 2) bits/dim', async () => {
    const images: ImageDataset = { kind: 'image', name: 'one', shape: [1, 28, 28], train: imageSet([1, 28, 28], new Uint8Array(784)), test: imageSet([1, 28, 28], new Uint8Array(784).fill(200)), bins: 256 };
    const r = await evaluate(fakeRuntime(() => -1000), images, { event: [1, 28, 28] });
    // (1000 + 4347.419116471977) / 543.4273895589971 (computed independently in Python)
    expect(r.bitsPerDim).toBeCloseTo(9.840172246031841, 10);
    expect(r.bitsPerDimMedian).toBeCloseTo(9.840172246031841, 10);
    expect(r.worst).toEqual([{ index: 0, nll: expect.closeTo(1000 + 784 * Math.log(256), 9) }]);
    expect(r.nllStdErr).toBe(0);
  });

  test('vectors: nll, nats/dim and the standard error of the mean', async () => {
    const v: VectorDataset = { kind: 'vector', name: 'v', dim: 2, train: new Float64Array(8), test: Float64Array.from([0, 0, 1, 0, 2, 0, 3, 0]), nTrain: 4, nTest: 4 };
    // −log q = x₀ for each point: 0, 1, 2, 3 → mean 1.5, sample sd √(5/3), stderr √(5/3)/2.
    const r = await evaluate(fakeRuntime((x, i) => -x.data[2 * i]!), v, { event: [2], batch: 3 });
    expect(r.nll).toBeCloseTo(1.5, 12);
    expect(r.natsPerDim).toBeCloseTo(0.75, 12);
    expect(r.nllStdErr).toBeCloseTo(Math.sqrt(5 / 3) / 2, 12);
    expect(r.bitsPerDim).toBeUndefined();
    // Median of 0, 1, 2, 3 is 1.5 (an even count averages the middle two); the worst are 3, 2, 1.
    expect(r.nllMedian).toBeCloseTo(1.5, 12);
    expect(r.worst).toEqual([{ index: 3, nll: 3 }, { index: 2, nll: 2 }, { index: 1, nll: 1 }]);
    // With the true density known: q = p·e^−0.1 everywhere gives KL = 0.1 exactly.
    const truth = gaussianMixture2D([{ weight: 1, mean: [0, 0], cov: [1, 0, 1] }]);
    const withTruth: VectorDataset = { ...v, truth };
    const shifted = await evaluate(fakeRuntime((x, i) => truth.logDensity(x.data.subarray(2 * i, 2 * i + 2))[0]! - 0.1), withTruth, { event: [2] });
    expect(shifted.kl!.value).toBeCloseTo(0.1, 12);
    expect(shifted.kl!.stdErr).toBeCloseTo(0, 12);
    expect(r.kl).toBeUndefined();
    await expect(evaluate(fakeRuntime(() => 0), v, { event: [3] })).rejects.toThrow(/events of shape \[3\] \(3 values\); dataset 'v' has examples of shape \[2\]/);
    // Non-finite densities are counted and left out (points 1 and 3 here), not averaged into NaN.
    const holes = await evaluate(fakeRuntime((x, i) => (x.data[2 * i]! % 2 === 1 ? (i === 1 ? NaN : -Infinity) : -x.data[2 * i]!)), v, { event: [2], batch: 3 });
    expect(holes).toMatchObject({ n: 4, nonFinite: 2 });
    expect(holes.nll).toBeCloseTo(1, 12); // the mean of 0 and 2
    expect(holes.nllMedian).toBeCloseTo(1, 12);
    expect(holes.worst.map((w) => w.index)).toEqual([2, 0]);
    expect(r.nonFinite).toBeUndefined();
    await expect(evaluate(fakeRuntime(() => NaN), v, { event: [2] })).rejects.toThrow(/every one of the 4 test examples has a non-finite log-density on fake/);
  });
});

describe('batching', () => {
  test('seeded shuffles: each epoch is a permutation of the training set, and the seed fixes order and noise', () => {
    const data = tinyImages();
    const a = batchStream(data, { batch: 3, seed: 4, event: [1, 2, 2] });
    expect(a.stepsPerEpoch).toBe(3);
    const firstBytes = (t: Tensor) => Array.from({ length: t.shape[0]! }, (_, i) => Math.floor(256 * t.data[4 * i]!));
    const epoch1 = [a.next(), a.next(), a.next()].flatMap(firstBytes);
    // 9 of the 10 images (the last incomplete batch is dropped), all distinct.
    const firstOfEach = Array.from({ length: 10 }, (_, i) => data.train.data[4 * i]!);
    expect(new Set(epoch1).size).toBe(9);
    for (const b of epoch1) expect(firstOfEach).toContain(b);
    expect(a.epoch).toBe(0);
    const next = a.next();
    expect(a.epoch).toBe(1);
    expect(next.shape).toEqual([3, 1, 2, 2]);
    const b = batchStream(data, { batch: 3, seed: 4, event: [1, 2, 2] });
    expect(Array.from(b.next().data)).toEqual(Array.from(batchStream(data, { batch: 3, seed: 4, event: [1, 2, 2] }).next().data));
    expect(Array.from(b.next().data)).not.toEqual(Array.from(batchStream(data, { batch: 3, seed: 5, event: [1, 2, 2] }).next().data));
    expect(() => batchStream(data, { batch: 11, seed: 0, event: [4] })).toThrow(/batch 11 is larger than the train set of 'tiny' \(10 examples\)/);
  });

  test('vector examples are copied as they are', () => {
    const v: VectorDataset = { kind: 'vector', name: 'v', dim: 2, train: Float64Array.from([1, 2, 3, 4, 5, 6]), test: new Float64Array(2), nTrain: 3, nTest: 1 };
    expect(Array.from(gatherExamples(v, 'train', [2, 0], [2]).data)).toEqual([5, 6, 1, 2]);
    expect(() => gatherExamples(tinyImages(), 'train', [0], [4])).toThrow(/need an rng/);
    expect(gatherExamples(tinyImages(), 'train', [0], [4], new Rng(1)).shape).toEqual([1, 4]);
  });
});
