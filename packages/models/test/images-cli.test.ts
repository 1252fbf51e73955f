import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFlow } from '@bijective/core';
import { saveCheckpoint } from '@bijective/core/node';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCliInProcess } from './helpers.js';
import { getPreset, listShippedCheckpoints, loadMnist, shippedCheckpoint, shippedCheckpointDir, SHIPPED_PRESETS } from '../src/node.js';

const run = runCliInProcess;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bijective-img-'));
  // An untrained glow-fmnist-small (fresh couplings are the identity) said to be trained on MNIST.
  await saveCheckpoint(join(dir, 'glow'), createFlow(getPreset('glow-fmnist-small').spec(), { seed: 2 }), { preset: 'glow-fmnist-small', dataset: 'mnist', dataShape: [1, 28, 28] });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('image commands on a Glow checkpoint', () => {
  test('eval reports bits/dim of the 8-bit data; sample writes a PNG grid', async () => {
    const ev = await run(['eval', '--checkpoint', join(dir, 'glow'), '--limit', '32']);
    expect(ev.stderr).toBe('');
    const r = JSON.parse(ev.stdout) as { nll: number; bitsPerDim: number; nllDequantized: number; n: number; dataset: string };
    expect([r.n, r.dataset]).toEqual([32, 'mnist']);
    expect(r.bitsPerDim).toBeCloseTo(r.nll / (784 * Math.LN2), 10);
    expect(r.nll - r.nllDequantized).toBeCloseTo(784 * Math.log(256), 8);
    const s = await run(['sample', '--checkpoint', join(dir, 'glow'), '--n', '6', '--out', join(dir, 'grid.png')]);
    expect(s.code, s.stderr).toBe(0);
    const png = PNG.sync.read(await readFile(join(dir, 'grid.png')));
    // 3 columns × 2 rows of 28·2 pixels with 1-pixel borders.
    expect([png.width, png.height]).toEqual([3 * 57 + 1, 2 * 57 + 1]);
  });

  test('--interpolate: the strip starts and ends at the two encoded test images', async () => {
    const r = await run(['sample', '--checkpoint', join(dir, 'glow'), '--interpolate', '--between', '3,10', '--frames', '4', '--zoom', '1', '--out', join(dir, 'strip.png')]);
    expect(r.code, r.stderr).toBe(0);
    const png = PNG.sync.read(await readFile(join(dir, 'strip.png')));
    expect([png.width, png.height]).toEqual([4 * 29 + 1, 29 + 1]);
    const { test: testSet } = loadMnist();
    const pixel = (frame: number, i: number) => png.data[4 * ((1 + Math.floor(i / 28)) * png.width + 1 + frame * 29 + (i % 28))]!;
    const count = loadMnist().test.count;
    const outside = await run(['sample', '--checkpoint', join(dir, 'glow'), '--interpolate', '--between', `3,${count}`, '--out', join(dir, 'never.png')]);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toBe(`bijective: sample: --between 3,${count}: index ${count} is out of range; the test split of mnist has ${count} examples (0..${count - 1})\n`);
    for (const [frame, index] of [[0, 3], [3, 10]] as const) {
      let same = 0;
      for (let i = 0; i < 784; i++) if (pixel(frame, i) === testSet.data[index * 784 + i]) same++;
      // decode(encode(x)) = x to ~1e-6, so ⌊256·x⌋ gives the byte back except where the noise u
      // fell within that of a bin edge (a handful of pixels at most).
      expect(same).toBeGreaterThan(775);
    }
  });
});

describe('shipped checkpoints', () => {
  test('the ones present load, with their command and test metrics; a missing one is a clear error', async () => {
    const present = listShippedCheckpoints();
    for (const name of present) {
      expect(SHIPPED_PRESETS as readonly string[]).toContain(name);
      const { flow, meta } = await shippedCheckpoint(name);
      expect(flow.spec.name).toBe(name);
      expect(String(meta.command)).toMatch(/^bijective train --preset /);
      expect(Number.isFinite((meta.metrics as { test: { nll: number } }).test.nll)).toBe(true);
    }
    expect(() => shippedCheckpointDir('glow-cifar')).toThrow(/no shipped checkpoint 'glow-cifar' in .*checkpoints; shipped presets are nice-2d, realnvp-2d, maf-2d, iaf-2d, nsf-2d, gf-2d, glow-fmnist-small, glow-fmnist-cond-small, mintnet-fmnist-small/);
    const absent = SHIPPED_PRESETS.find((p) => !present.includes(p));
    if (absent) expect(() => shippedCheckpointDir(absent)).toThrow(/produced by packages\/models\/scripts\/train-shipped\.sh/);
  });
});
