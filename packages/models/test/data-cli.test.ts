import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '@bijective/core';
import { runCliInProcess } from './helpers.js';

const inProcess = runCliInProcess;

/**
 * Rows `id,a,b,c` on very different scales: a ~ 1000 + 50·N, b = 0.02·(a − 1000) + 0.1·N
 * (correlated with a), c ~ 0.001·N; `id` is the row number (not modelled).
 */
function table(n: number, seed: number, first = 0): { text: string; rows: number[][] } {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const a = 1000 + 50 * rng.normal();
    rows.push([a, 0.02 * (a - 1000) + 0.1 * rng.normal(), 0.001 * rng.normal()]);
  }
  return { text: `id,a,b,c\n${rows.map((r, i) => [first + i, ...r].join(',')).join('\n')}\n`, rows };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bijective-data-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bijective train --data on a CSV file', () => {
  test('train (standardised, D from the data) → eval → sample → export → log_prob.onnx on raw rows reproduces eval', async () => {
    const trainCsv = join(dir, 'train.csv');
    const testCsv = join(dir, 'test.csv');
    const train = table(2000, 1);
    const held = table(300, 2, 2000);
    await writeFile(trainCsv, train.text);
    await writeFile(testCsv, held.text);
    const run = join(dir, 'run');
    const t = await inProcess(['train', '--preset', 'realnvp-2d', '--data', trainCsv, '--test', testCsv, '--columns', 'a,b,c', '--steps', '300', '--batch', '128', '--lr', '0.003', '--out', run, '--quiet']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/test: nll .* \(300 examples\)/);

    const flowJson = JSON.parse(await readFile(join(run, 'flow.json'), 'utf8')) as {
      spec: { event: number[]; layers: { type: string }[] };
      meta: { data: { file: string; test: string; columns: string[] }; columns: string[] };
    };
    expect(flowJson.spec.event).toEqual([3]);
    expect(flowJson.spec.layers[0]).toEqual({ type: 'standardize' });
    expect(flowJson.meta.data).toMatchObject({ file: trainCsv, test: testCsv, columns: ['a', 'b', 'c'] });
    expect(flowJson.meta.columns).toEqual(['a', 'b', 'c']);

    const ev = await inProcess(['eval', '--checkpoint', run]);
    expect(ev.code, ev.stderr).toBe(0);
    const result = JSON.parse(ev.stdout) as { nll: number; n: number; dataset: string };
    expect(result).toMatchObject({ n: 300, dataset: 'train.csv' });
    // Entropy of the data: H(a) + H(b | a) + H(c) with a, b|a, c Gaussian of std 50, 0.1, 0.001:
    // Σ ½ log(2πe σ²) = 3·1.4189 + log(50·0.1·0.001) = −1.0413 nats. 300 steps get within ~0.3.
    const entropy = 3 * 0.5 * Math.log(2 * Math.PI * Math.E) + Math.log(50 * 0.1 * 0.001);
    expect(result.nll).toBeGreaterThan(entropy - 0.3);
    expect(result.nll).toBeLessThan(entropy + 0.5);

    const s = await inProcess(['sample', '--checkpoint', run, '--n', '400', '--seed', '1', '--out', join(dir, 's.csv')]);
    expect(s.code, s.stderr).toBe(0);
    const lines = (await readFile(join(dir, 's.csv'), 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe('a,b,c');
    const samples = lines.slice(1).map((l) => l.split(',').map(Number));
    // Raw samples, on the data's scale: column a around 1000 ± 50 (mean of 400: ± 2.5 standard error).
    const meanA = samples.reduce((acc, r) => acc + r[0]!, 0) / samples.length;
    expect(Math.abs(meanA - 1000)).toBeLessThan(12);

    const exp = await inProcess(['export', '--checkpoint', run, '--out', join(dir, 'onnx')]);
    expect(exp.code, exp.stderr).toBe(0);
    const session = await ort.InferenceSession.create(join(dir, 'onnx', 'log_prob.onnx'));
    const sampler = await ort.InferenceSession.create(join(dir, 'onnx', 'sample.onnx'));
    try {
      const x = Float32Array.from(held.rows.flat());
      const out = await session.run({ x: new ort.Tensor('float32', x, [300, 3]) });
      const logProb = out.log_prob!.data as Float32Array;
      const nll = -logProb.reduce((a, b) => a + b, 0) / logProb.length;
      // Float32 on both sides, raw values near 1000: ~1e-6 relative per row; 1e-3 nats allowed on the mean.
      expect(Math.abs(nll - result.nll)).toBeLessThan(1e-3);
      // And sample.onnx maps latents back to raw rows: its x at the test rows' z is the rows.
      const z = out.z!.data as Float32Array;
      const back = (await sampler.run({ z: new ort.Tensor('float32', z, [300, 3]) })).x!.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(back[i]! - x[i]!) / (Math.abs(x[i]!) + 1e-2));
      expect(worst).toBeLessThan(1e-3);
    } finally {
      await session.release();
      await sampler.release();
    }

    // eval --data FILE: every row of another file, with the checkpoint's columns.
    const other = join(dir, 'other.csv');
    await writeFile(other, table(50, 3).text);
    const ev2 = await inProcess(['eval', '--checkpoint', run, '--data', other]);
    expect(ev2.code, ev2.stderr).toBe(0);
    expect(JSON.parse(ev2.stdout)).toMatchObject({ n: 50, dataset: 'other.csv' });
  }, 240_000);

  test('a seeded split of one file, and one-line errors for bad data', async () => {
    const csv = join(dir, 'one.csv');
    await writeFile(csv, table(200, 4).text);
    const split = await inProcess(['train', '--preset', 'maf-2d', '--data', csv, '--columns', 'a,b', '--test-fraction', '0.25', '--steps', '5', '--batch', '32', '--out', join(dir, 'split'), '--quiet']);
    expect(split.code, split.stderr).toBe(0);
    expect(split.stdout).toMatch(/\(50 examples\)/);

    const bad = join(dir, 'bad.csv');
    await writeFile(bad, 'a,b\n1,2\n3,x\n');
    const r = await inProcess(['train', '--preset', 'maf-2d', '--data', bad, '--out', join(dir, 'bad')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`bijective: ${bad}: line 3, column 'b': 'x' is not a finite number`);

    const constant = join(dir, 'const.csv');
    await writeFile(constant, 'a,b\n1,5\n2,5\n3,5\n4,5\n5,5\n6,5\n7,5\n8,5\n9,5\n10,5\n');
    const c = await inProcess(['train', '--preset', 'maf-2d', '--data', constant, '--out', join(dir, 'const')]);
    expect(c.stderr.trim()).toBe(`bijective: train: column 'b' is constant (5) on the training split of const.csv; a flow cannot model a constant — leave it out with --columns`);

    const both = await inProcess(['train', '--preset', 'maf-2d', '--data', csv, '--dataset', 'moons', '--out', join(dir, 'both')]);
    expect(both.stderr.trim()).toBe('bijective: train: pass --dataset NAME or --data FILE, not both');
    const noData = await inProcess(['train', '--preset', 'maf-2d', '--columns', 'a', '--out', join(dir, 'nodata')]);
    expect(noData.stderr.trim()).toBe('bijective: train: --test, --test-fraction and --columns apply to --data FILE');
  }, 120_000);
});
