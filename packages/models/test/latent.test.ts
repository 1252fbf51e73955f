import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, referenceRuntime } from '@bijective/core';
import { saveCheckpoint } from '@bijective/core/node';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { maxAbsDiff, perturbedFlow, runCliInProcess } from './helpers.js';
import { alongDirection, attributeDirection, getPreset, latentPath, meanRow, shippedCheckpointDir, slerp, temperatureSweep } from '../src/node.js';

const run = runCliInProcess;

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! ** 2;
  return Math.sqrt(s);
}

describe('latent paths', () => {
  test('slerp keeps the norm of equal-norm endpoints (the straight line sags inside the shell)', () => {
    const rng = new Rng(4);
    const d = 784;
    const a = rng.normals(d);
    const raw = rng.normals(d);
    const b = raw.map((v) => (v * norm(a)) / norm(raw));
    const path = latentPath(a, b, 9, 'slerp');
    const line = latentPath(a, b, 9, 'linear');
    for (let f = 0; f < 9; f++) expect(norm(path.subarray(f * d, (f + 1) * d)) / norm(a)).toBeCloseTo(1, 12);
    expect(maxAbsDiff(path.subarray(0, d), a)).toBeLessThan(1e-12);
    expect(maxAbsDiff(path.subarray(8 * d), b)).toBeLessThan(1e-12);
    // Independent endpoints are nearly orthogonal: the linear midpoint has norm ≈ |a|/√2.
    const mid = norm(line.subarray(4 * d, 5 * d)) / norm(a);
    expect(mid).toBeGreaterThan(0.6);
    expect(mid).toBeLessThan(0.8);
  });

  test('slerp: a quarter turn in the plane, unequal norms interpolated linearly, opposite endpoints refused', () => {
    const p = slerp([1, 0], [0, 3], 0.5);
    // Direction at 45°, norm (1 + 3)/2.
    expect(p[0]).toBeCloseTo(2 * Math.SQRT1_2, 12);
    expect(p[1]).toBeCloseTo(2 * Math.SQRT1_2, 12);
    expect(() => slerp([1, 0], [-2, 0], 0.5)).toThrow(/opposite directions/);
    expect(() => latentPath([1, 0], [0, 1], 3, 'curved' as never)).toThrow(/path must be one of slerp, linear, got 'curved'/);
  });
});

describe('attribute directions', () => {
  test('meanRow and alongDirection by hand', () => {
    expect([...meanRow([1, 2, 3, 4, 5, 9], 3, 2)]).toEqual([3, 5]);
    expect([...alongDirection([1, 1], [2, -4], 3, 1)]).toEqual([1, 1, 2, -1, 3, -3]);
  });

  test('the direction is the mean latent of group A minus that of group B', async () => {
    const flow = perturbedFlow(getPreset('realnvp-2d').spec(), 0.05);
    const runtime = referenceRuntime(flow);
    const groupA = [[0.5, 1], [1.5, -0.5], [2, 2]];
    const groupB = [[-1, 0], [0, -2]];
    const tensor = (rows: number[][]) => ({ data: Float64Array.from(rows.flat()), shape: [rows.length, 2] });
    // By hand: encode each point alone, average per group, subtract.
    const mean = async (rows: number[][]) => {
      const s = [0, 0];
      for (const r of rows) {
        const { z } = await runtime.encode(tensor([r]));
        s[0]! += z.data[0]! / rows.length;
        s[1]! += z.data[1]! / rows.length;
      }
      return s;
    };
    const [ma, mb] = [await mean(groupA), await mean(groupB)];
    const direction = await attributeDirection(runtime, tensor(groupA), tensor(groupB), { batch: 2 });
    expect(maxAbsDiff(direction, [ma[0]! - mb[0]!, ma[1]! - mb[1]!])).toBeLessThan(1e-12);
    // The flow is not the identity: the latent difference is not the data-space difference.
    expect(maxAbsDiff(direction, [(3.5 / 3) - -0.5, 2.5 / 3 - -1])).toBeGreaterThan(1e-3);
  });

  test('temperatureSweep: one row per temperature, the same noise scaled', async () => {
    const flow = perturbedFlow(getPreset('realnvp-2d').spec(), 0.05);
    const runtime = referenceRuntime(flow);
    const sweep = await temperatureSweep(runtime, { n: 4, temperatures: [0, 0.5, 1], seed: 3 });
    expect(sweep.shape).toEqual([12, 2]);
    const zero = await runtime.decode({ data: new Float64Array(8), shape: [4, 2] });
    expect(maxAbsDiff(sweep.data.subarray(0, 8), zero.data)).toBeLessThan(1e-12);
    const half = await runtime.sample({ n: 4, temperature: 0.5, seed: 3 });
    expect(maxAbsDiff(sweep.data.subarray(8, 16), half.data)).toBeLessThan(1e-12);
    expect(maxAbsDiff(sweep.data.subarray(8, 16), sweep.data.subarray(16))).toBeGreaterThan(1e-3);
  });
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bijective-edit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bijective edit', () => {
  test('on the shipped Glow: frame 0 is the test image, the last frame is changed; unknown classes are one clear line', async () => {
    const glow = shippedCheckpointDir('glow-fmnist-small');
    const out = join(dir, 'edit.png');
    // Test image 19 is a T-shirt/top; move it towards the mean Shirt.
    const r = await run(['edit', '--checkpoint', glow, '--attribute', 'shirt,T-shirt/top', '--image', '19', '--steps', '4', '--scale', '1.5', '--per-group', '64', '--zoom', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const png = PNG.sync.read(await readFile(out));
    expect([png.width, png.height]).toEqual([4 * 29 + 1, 29 + 1]);
    const frame = (f: number) => Uint8Array.from({ length: 784 }, (_, i) => png.data[4 * ((1 + Math.floor(i / 28)) * png.width + 1 + f * 29 + (i % 28))]!);
    const { loadFashionMnist } = await import('../src/node.js');
    const original = (await loadFashionMnist()).test.data.subarray(19 * 784, 20 * 784);
    const changed = (a: Uint8Array, b: ArrayLike<number>) => a.filter((v, i) => Math.abs(v - b[i]!) > 16).length;
    expect(changed(frame(0), original)).toBeLessThan(10);
    expect(changed(frame(3), original)).toBeGreaterThan(100);

    const unknown = await run(['edit', '--checkpoint', glow, '--attribute', 'Shirt,Hat', '--out', join(dir, 'never.png')]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      "bijective: edit: unknown class 'Hat' in --attribute Shirt,Hat; the classes are 'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot' (or 0..9)\n",
    );
    const same = await run(['edit', '--checkpoint', glow, '--attribute', '6,Shirt', '--out', join(dir, 'never.png')]);
    expect(same.stderr).toBe("bijective: edit: --attribute 6,Shirt names class 'Shirt' twice; the direction needs two different classes\n");
    const one = await run(['edit', '--checkpoint', glow, '--attribute', 'Shirt', '--out', join(dir, 'never.png')]);
    expect(one.stderr).toBe("bijective: edit: --attribute expects two classes 'A,B' (the direction goes from B's mean latent to A's), got 'Shirt'\n");
  });

  test('a label column of a table: the strip is decode(f(x) + α·(mean f(A) − mean f(B)))', async () => {
    const flow = perturbedFlow(getPreset('realnvp-2d').spec(), 0.05);
    await saveCheckpoint(join(dir, 'flow2d'), flow, { dataset: 'mixture' });
    const rows = [[0.5, 1, 'up'], [1.5, -0.5, 'down'], [2, 2, 'up'], [-1, 0, 'down'], [0, 1, 'up']] as const;
    const table = join(dir, 'points.csv');
    await writeFile(table, `x,kind,y\n${rows.map(([x, y, kind]) => `${x},${kind},${y}`).join('\n')}\n`);
    const out = join(dir, 'edit.csv');
    const r = await run(['edit', '--checkpoint', join(dir, 'flow2d'), '--data', table, '--label-column', 'kind', '--attribute', 'up,down', '--image', '1', '--steps', '3', '--scale', '2', '--engine', 'reference', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const got = (await readFile(out, 'utf8')).trim().split('\n').slice(1).flatMap((l) => l.split(',').map(Number));
    const runtime = referenceRuntime(flow);
    const points = (idx: number[]) => ({ data: Float64Array.from(idx.flatMap((i) => [rows[i]![0], rows[i]![1]])), shape: [idx.length, 2] });
    const direction = await attributeDirection(runtime, points([0, 2, 4]), points([1, 3]));
    const { z } = await runtime.encode(points([1]));
    const want = await runtime.decode({ data: alongDirection(z.data, direction, 3, 2), shape: [3, 2] });
    expect(maxAbsDiff(got, want.data)).toBeLessThan(1e-6);
    const noData = await run(['edit', '--checkpoint', join(dir, 'flow2d'), '--label-column', 'kind', '--attribute', 'up,down', '--out', join(dir, 'never.csv')]);
    expect(noData.stderr).toBe('bijective: edit: --label-column names a column of --data FILE (a table); pass --data\n');
    const noLabels = await run(['edit', '--checkpoint', join(dir, 'flow2d'), '--attribute', 'up,down', '--out', join(dir, 'never.csv')]);
    expect(noLabels.stderr).toMatch(/^bijective: edit: 'mixture' has no class labels; use Fashion-MNIST, .*--label-column COLUMN\n$/);
  });

  test('sample --temperatures: one grid row per temperature; --path linear and slerp differ in the middle', async () => {
    const glow = shippedCheckpointDir('glow-fmnist-small');
    const sweep = join(dir, 'sweep.png');
    const r = await run(['sample', '--checkpoint', glow, '--temperatures', '0,0.7,1', '--n', '3', '--zoom', '1', '--out', sweep]);
    expect(r.code, r.stderr).toBe(0);
    const png = PNG.sync.read(await readFile(sweep));
    expect([png.width, png.height]).toEqual([3 * 29 + 1, 3 * 29 + 1]);
    const bad = await run(['sample', '--checkpoint', glow, '--temperatures', '0.5,-1', '--out', join(dir, 'never.png')]);
    expect(bad.stderr).toBe("bijective: sample: --temperatures expects comma-separated numbers >= 0, e.g. '0.5,0.7,1', got '0.5,-1'\n");
    const strips: Buffer[] = [];
    for (const path of ['slerp', 'linear']) {
      const out = join(dir, `${path}.png`);
      const s = await run(['sample', '--checkpoint', glow, '--interpolate', '--between', '0,2', '--frames', '3', '--path', path, '--zoom', '1', '--out', out]);
      expect(s.code, s.stderr).toBe(0);
      strips.push(PNG.sync.read(await readFile(out)).data);
    }
    // The middle frame of the straight line is darker (its latent is inside the shell).
    const brightness = (data: Buffer) => {
      let s = 0;
      for (let y = 1; y < 29; y++) for (let x = 30; x < 58; x++) s += data[4 * (y * (3 * 29 + 1) + x)]!;
      return s;
    };
    expect(brightness(strips[1]!)).toBeLessThan(0.8 * brightness(strips[0]!));
    const badPath = await run(['sample', '--checkpoint', glow, '--interpolate', '--path', 'curved', '--out', join(dir, 'never.png')]);
    expect(badPath.stderr).toBe("bijective: sample: --path must be slerp or linear, got 'curved'\n");
  });
});
