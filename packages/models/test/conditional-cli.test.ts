import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '@bijective/core';
import { runCliInProcess as run } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bijective-cond-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Rows `c,x0,x1` with c ~ U(−1, 1), x0 = 3c + 0.3·N, x1 = 0.5·N: x0's mean follows the context. */
function table(n: number, seed: number): string {
  const rng = new Rng(seed);
  const rows: string[] = ['c,x0,x1'];
  for (let i = 0; i < n; i++) {
    const c = 2 * rng.uniform() - 1;
    rows.push(`${c},${3 * c + 0.3 * rng.normal()},${0.5 * rng.normal()}`);
  }
  return `${rows.join('\n')}\n`;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('conditional flows from the command line: a table with --context-columns', () => {
  const csv = () => join(dir, 'cond.csv');
  const runDir = () => join(dir, 'cond-run');

  test('train → eval → sample --context → density --context follow the context', async () => {
    await writeFile(csv(), table(3000, 1));
    const t = await run(['train', '--preset', 'realnvp-2d', '--data', csv(), '--context-columns', 'c', '--steps', '300', '--batch', '128', '--lr', '0.003', '--out', runDir(), '--quiet']);
    expect(t.code, t.stderr).toBe(0);
    const flowJson = JSON.parse(await readFile(join(runDir(), 'flow.json'), 'utf8')) as { spec: { event: number[]; context: number[]; base: string }; meta: { context: unknown; columns: string[] } };
    expect(flowJson.spec).toMatchObject({ event: [2], context: [1], base: 'conditionalGaussian' });
    expect(flowJson.meta.context).toEqual({ kind: 'columns', names: ['c'] });
    expect(flowJson.meta.columns).toEqual(['x0', 'x1']);

    // eval reads the context of every test row from the table. The data's conditional entropy:
    // H(x0 | c) + H(x1) = ½ log(2πe·0.3²) + ½ log(2πe·0.5²) = 0.2149 + 0.7258 = 0.9407 nats.
    // The 300-row estimate has a standard error of ~0.06; 300 steps get within ~0.3 above it.
    const ev = await run(['eval', '--checkpoint', runDir(), '--engine', 'reference']);
    expect(ev.code, ev.stderr).toBe(0);
    const r = JSON.parse(ev.stdout) as { nll: number; nllStdErr: number; n: number };
    expect(r.n).toBe(300);
    expect(r.nll).toBeGreaterThan(0.9407 - 3 * r.nllStdErr);
    expect(r.nll).toBeLessThan(0.9407 + 0.3 + 3 * r.nllStdErr);
    // Without its context the same flow is a different density: eval on a table lacking column c is refused.
    await writeFile(join(dir, 'no-c.csv'), 'x0,x1\n1,2\n');
    const noContext = await run(['eval', '--checkpoint', runDir(), '--data', join(dir, 'no-c.csv')]);
    expect(noContext.code).toBe(1);
    expect(noContext.stderr).toMatch(/^bijective: eval: .*\bc\b.*\n$/);

    // Samples at c = +1 and c = −1: x0 around +3 and −3 (an unconditional flow would give both ≈ 0).
    for (const c of [1, -1]) {
      const out = join(dir, `s${c}.csv`);
      const s = await run(['sample', '--checkpoint', runDir(), '--context', String(c), '--n', '400', '--seed', '2', '--out', out]);
      expect(s.code, s.stderr).toBe(0);
      const lines = (await readFile(out, 'utf8')).trimEnd().split('\n');
      expect(lines[0]).toBe('x0,x1');
      const x0 = lines.slice(1).map((l) => Number(l.split(',')[0]));
      expect(Math.abs(mean(x0) - 3 * c)).toBeLessThan(0.5);
    }

    // density --context: p(x | c) is high where that context's data lie and low at the mirror point.
    const points = join(dir, 'points.csv');
    await writeFile(points, 'x0,x1\n3,0\n-3,0\n');
    const logDensity = async (c: string) => {
      const d = await run(['density', '--checkpoint', runDir(), '--points', points, '--context', c]);
      expect(d.code, d.stderr).toBe(0);
      return d.stdout.trimEnd().split('\n').slice(1).map((l) => Number(l.split(',')[2]));
    };
    const [atPlus3, atMinus3] = await logDensity('1');
    expect(atPlus3! - atMinus3!).toBeGreaterThan(10);
    const [b3, bm3] = await logDensity('-1');
    expect(bm3! - b3!).toBeGreaterThan(10);
    // The true log-density at the mode, log N(0; 0, 0.3²)·N(0; 0, 0.5²) = −log(2π·0.15) = −0.0457, to ~0.5.
    expect(Math.abs(atPlus3! + 0.0457)).toBeLessThan(0.5);
  }, 180_000);

  test.each([
    [['sample', '--n', '2', '--out', 'OUT'], "sample: this flow is conditional on 1 context values (c); pass --context v1,...,v1"],
    [['sample', '--n', '2', '--context', '1,2', '--out', 'OUT'], "sample: --context needs 1 comma-separated numbers (c), got '1,2'"],
    [['sample', '--n', '2', '--context', '', '--out', 'OUT'], "sample: --context needs 1 comma-separated numbers (c), got ''"],
    [['sample', '--n', '2', '--class', '0', '--out', 'OUT'], 'sample: --class applies to flows conditioned on classes (--condition-on label); this one is conditioned on c: use --context'],
    [['density', '--points', 'POINTS'], 'density: this flow is conditional on 1 context values (c); pass --context v1,...,v1'],
    [['density', '--points', 'POINTS', '--context', 'x'], "density: --context needs 1 comma-separated numbers (c), got 'x'"],
  ])('%j is refused', async (args, message) => {
    const r = await run([args[0]!, '--checkpoint', runDir(), ...args.slice(1).map((a) => (a === 'OUT' ? join(dir, 'never.csv') : a === 'POINTS' ? join(dir, 'points.csv') : a))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`bijective: ${message}\n`);
  });
});

/** A 28×28 grayscale PNG: every pixel `level` ± 10. */
function png(level: number, rng: Rng): Buffer {
  const image = new PNG({ width: 28, height: 28, colorType: 0, inputColorType: 0, bitDepth: 8 });
  for (let i = 0; i < 28 * 28; i++) {
    const v = Math.max(0, Math.min(255, Math.round(level + 10 * (2 * rng.uniform() - 1))));
    image.data.set([v, v, v, 255], 4 * i);
  }
  return PNG.sync.write(image, { colorType: 0, inputColorType: 6 });
}

describe('class-conditional flows from the command line: --condition-on label on a folder of classes', () => {
  const runDir = () => join(dir, 'classes-run');

  test('train → eval → sample --class (index, name, all)', async () => {
    const data = join(dir, 'classes');
    const rng = new Rng(3);
    for (const [name, level] of [['dark', 40], ['light', 210]] as const) {
      await mkdir(join(data, name), { recursive: true });
      for (let i = 0; i < 12; i++) await writeFile(join(data, name, `${i}.png`), png(level, rng));
    }
    const t = await run(['train', '--preset', 'glow-fmnist-small', '--data', data, '--condition-on', 'label', '--test-fraction', '0.25', '--steps', '2', '--batch', '6', '--eval-every', '100', '--out', runDir(), '--quiet']);
    expect(t.code, t.stderr).toBe(0);
    const flowJson = JSON.parse(await readFile(join(runDir(), 'flow.json'), 'utf8')) as { spec: { context: number[]; base: string }; meta: { context: unknown } };
    expect(flowJson.spec).toMatchObject({ context: [2], base: 'conditionalGaussian' });
    expect(flowJson.meta.context).toEqual({ kind: 'classes', names: ['dark', 'light'] });

    const ev = await run(['eval', '--checkpoint', runDir(), '--engine', 'reference']);
    expect(ev.code, ev.stderr).toBe(0);
    const r = JSON.parse(ev.stdout) as { n: number; bitsPerDim: number };
    expect(r.n).toBe(6);
    expect(Number.isFinite(r.bitsPerDim)).toBe(true);

    const grid = join(dir, 'by-class.png');
    const all = await run(['sample', '--checkpoint', runDir(), '--class', 'all', '--n', '3', '--zoom', '1', '--out', grid]);
    expect(all.code, all.stderr).toBe(0);
    const image = PNG.sync.read(await readFile(grid));
    // One row of 3 per class: 3 × (28 + 1) + 1 wide, 2 × (28 + 1) + 1 high.
    expect([image.width, image.height]).toEqual([88, 59]);
    for (const cls of ['1', 'light']) {
      const one = await run(['sample', '--checkpoint', runDir(), '--class', cls, '--n', '2', '--zoom', '1', '--force', '--out', join(dir, 'one.png')]);
      expect(one.code, one.stderr).toBe(0);
    }
  }, 180_000);

  test.each([
    ['2', "sample: --class must be 0..1 or one of dark, light, got '2'"],
    ['-1', "sample: --class must be 0..1 or one of dark, light, got '-1'"],
    ['', "sample: --class must be 0..1 or one of dark, light, got ''"],
    ['0x1', "sample: --class must be 0..1 or one of dark, light, got '0x1'"],
    ['medium', "sample: --class must be 0..1 or one of dark, light, got 'medium'"],
  ])('--class %j is refused', async (cls, message) => {
    const r = await run(['sample', '--checkpoint', runDir(), '--class', cls, '--n', '2', '--out', join(dir, 'never.png')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`bijective: ${message}\n`);
  });
});
