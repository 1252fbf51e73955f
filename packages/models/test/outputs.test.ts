import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createFlow } from '@bijective/core';
import { loadCheckpoint, saveCheckpoint } from '@bijective/core/node';
import { getPreset } from '../src/node.js';
import { LIMITS } from '../src/cli/common.js';
import { withoutTempNames, writeError } from '../src/cli/output.js';
import { checkGridSize } from '../src/cli/sample.js';
import { openRuntime } from '../src/engines.js';
import { runCliInProcess as inProcess } from './helpers.js';

let dir: string;
let ckpt: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bijective-outputs-'));
  ckpt = join(dir, 'ckpt');
  await saveCheckpoint(ckpt, createFlow(getPreset('realnvp-2d').spec()), { dataset: 'mixture' });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One line on stderr, no stack frame, no hidden temp-file name. */
function expectOneLine(stderr: string): void {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at |\.tmp\b|Error:/);
}

describe('nothing is written outside --out', () => {
  test('a metrics.jsonl that is a symbolic link to a file outside the run folder is refused, the file left as it was', async () => {
    const outside = join(dir, 'outside.txt');
    await writeFile(outside, 'precious\n');
    const run = join(dir, 'linked-run');
    await mkdir(run);
    await symlink(outside, join(run, 'metrics.jsonl'));
    const r = await inProcess(['train', '--preset', 'nice-2d', '--dataset', 'moons', '--steps', '2', '--quiet', '--out', run]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(run, 'metrics.jsonl')} is a symbolic link`);
    expectOneLine(r.stderr);
    expect(await readFile(outside, 'utf8')).toBe('precious\n');
    expect(existsSync(join(run, 'flow.json'))).toBe(false);
    expect(existsSync(join(run, 'train.lock'))).toBe(false);
  }, 60_000);

  test.each([
    ['train', ['train', '--preset', 'nice-2d', '--out', '']],
    ['sample', ['sample', '--checkpoint', 'CKPT', '--out', '']],
    ['density', ['density', '--checkpoint', 'CKPT', '--points', 'x.csv', '--out', '']],
    ['density', ['density', '--checkpoint', 'CKPT', '--heatmap', ' ']],
    ['export', ['export', '--checkpoint', 'CKPT', '--out', '']],
  ])("%s: an empty output path is refused", async (command, args) => {
    const r = await inProcess(args.map((a) => (a === 'CKPT' ? ckpt : a)));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${command}: --(out|heatmap) must name a file or folder, got ''`));
    expectOneLine(r.stderr);
  });

  test('sample and density do not replace an existing CSV or PNG without --force; with it they do', async () => {
    const csv = join(dir, 'kept.csv');
    await writeFile(csv, 'mine\n');
    const r = await inProcess(['sample', '--checkpoint', ckpt, '--n', '3', '--out', csv]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`sample: ${csv} already exists; pass --force to replace it`);
    expect(await readFile(csv, 'utf8')).toBe('mine\n');
    const forced = await inProcess(['sample', '--checkpoint', ckpt, '--n', '3', '--out', csv, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await readFile(csv, 'utf8')).trimEnd().split('\n')).toHaveLength(4);

    const png = join(dir, 'kept.png');
    await writeFile(png, 'not a png');
    const h = await inProcess(['density', '--checkpoint', ckpt, '--heatmap', png, '--size', '8']);
    expect(h.code).toBe(1);
    expect(h.stderr).toContain(`density: ${png} already exists; pass --force to replace it, or choose another --heatmap`);
    expect(await readFile(png, 'utf8')).toBe('not a png');
    const hf = await inProcess(['density', '--checkpoint', ckpt, '--heatmap', png, '--size', '8', '--force']);
    expect(hf.code, hf.stderr).toBe(0);
    expect((await readFile(png)).subarray(1, 4).toString()).toBe('PNG');
  }, 60_000);

  test('an output that is a symbolic link is replaced by --force, never written through', async () => {
    const outside = join(dir, 'target.csv');
    await writeFile(outside, 'precious\n');
    const link = join(dir, 'link.csv');
    await symlink(outside, link);
    const r = await inProcess(['sample', '--checkpoint', ckpt, '--n', '2', '--out', link]);
    expect(r.code).toBe(1);
    expect(await readlink(link)).toBe(outside);
    const forced = await inProcess(['sample', '--checkpoint', ckpt, '--n', '2', '--out', link, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await lstat(link)).isSymbolicLink()).toBe(false);
    expect(await readFile(outside, 'utf8')).toBe('precious\n');
  }, 60_000);

  test('export does not replace a folder holding another model without --force', async () => {
    const onnx = join(dir, 'onnx');
    await mkdir(onnx);
    await writeFile(join(onnx, 'log_prob.onnx'), 'another model');
    const r = await inProcess(['export', '--checkpoint', ckpt, '--out', onnx]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`export: ${onnx} already holds log_prob.onnx; pass --force to replace them`);
    expect(await readFile(join(onnx, 'log_prob.onnx'), 'utf8')).toBe('another model');
    expect(existsSync(join(onnx, 'sample.onnx'))).toBe(false);
    const forced = await inProcess(['export', '--checkpoint', ckpt, '--out', onnx, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await readFile(join(onnx, 'log_prob.onnx'))).length).toBeGreaterThan(1000);
  }, 60_000);
});

describe('an unwritable or invalid --out is one line', () => {
  test.each([
    ['sample', (f: string) => ['sample', '--checkpoint', 'CKPT', '--n', '2', '--out', join(f, 'x.csv')], 'sample: cannot write'],
    ['density', (f: string) => ['density', '--checkpoint', 'CKPT', '--heatmap', join(f, 'h.png'), '--size', '4'], 'density: cannot write'],
    ['export', (f: string) => ['export', '--checkpoint', 'CKPT', '--out', join(f, 'onnx')], 'export: cannot write'],
    ['train', (f: string) => ['train', '--preset', 'nice-2d', '--steps', '1', '--out', join(f, 'run')], 'train: cannot write'],
    ['train', (f: string) => ['train', '--preset', 'nice-2d', '--steps', '1', '--out', f], 'is a file; a run folder is a folder'],
    ['export', (f: string) => ['export', '--checkpoint', 'CKPT', '--out', f], 'is not a folder'],
  ])('%s: a path through (or at) a file', async (_, args, message) => {
    const file = join(dir, `plain-${Math.random().toString(36).slice(2)}`);
    await writeFile(file, 'x');
    const r = await inProcess(args(file).map((a) => (a === 'CKPT' ? ckpt : a)));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expectOneLine(r.stderr);
  }, 60_000);

  test('sample --out naming a folder', async () => {
    const folder = join(dir, 'a-folder.csv');
    await mkdir(folder);
    const r = await inProcess(['sample', '--checkpoint', ckpt, '--n', '2', '--out', folder]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`sample: --out ${folder} is a folder; name a file`);
    expectOneLine(r.stderr);
  });

  test.skipIf(process.getuid?.() === 0)('a read-only folder: permission denied, naming the file', async () => {
    const ro = join(dir, 'readonly');
    await mkdir(ro);
    await chmod(ro, 0o555);
    const r = await inProcess(['sample', '--checkpoint', ckpt, '--n', '2', '--out', join(ro, 's.csv')]);
    await chmod(ro, 0o755);
    expect(r.stderr).toContain(`sample: cannot write ${join(ro, 's.csv')} (permission denied)`);
    expectOneLine(r.stderr);
  });

  test('file-system errors name the file in words, never the temp file of an atomic write', () => {
    const e = Object.assign(new Error("EACCES: permission denied, open '/runs/a/.weights.safetensors.4242.0a1b2c3d.tmp'"), { code: 'EACCES' });
    expect((writeError(e, '/runs/a/weights.safetensors', 'train') as Error).message).toBe('train: cannot write /runs/a/weights.safetensors (permission denied)');
    expect(withoutTempNames(e.message)).toBe("EACCES: permission denied, open '/runs/a/weights.safetensors'");
    const other = new TypeError('not a file-system error');
    expect(writeError(other, '/x', 'train')).toBe(other);
  });
});

describe('bounded sizes', () => {
  test('sample --n into a CSV is streamed in batches: the same rows as one sample() call, across a batch boundary', async () => {
    const n = LIMITS.sampleBatch + 5;
    const csv = join(dir, 'stream.csv');
    const r = await inProcess(['sample', '--checkpoint', ckpt, '--engine', 'reference', '--n', String(n), '--seed', '7', '--temperature', '0.8', '--out', csv]);
    expect(r.code, r.stderr).toBe(0);
    const lines = (await readFile(csv, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(n + 1);
    const { flow } = await loadCheckpoint(ckpt);
    const rt = await openRuntime(flow, 'reference');
    const once = await rt.sample({ n, seed: 7, temperature: 0.8 });
    await rt.dispose();
    for (const i of [0, LIMITS.sampleBatch - 1, LIMITS.sampleBatch, n - 1]) expect(lines[i + 1]).toBe(`${once.data[2 * i]},${once.data[2 * i + 1]}`);
  }, 120_000);

  test.each([
    [['sample', '--checkpoint', 'CKPT', '--out', 'x.png', '--zoom', '33'], "option '--zoom <n>' argument '33' is invalid. expected an integer <= 32 (the limit)"],
    [['sample', '--checkpoint', 'CKPT', '--out', 'x.png', '--columns', '5000'], 'expected an integer <= 1024 (the limit)'],
    [['sample', '--checkpoint', 'CKPT', '--out', 'x.png', '--interpolate', '--frames', '2000'], 'expected an integer <= 1024 (the limit)'],
    [['density', '--checkpoint', 'CKPT', '--heatmap', 'h.png', '--size', '5000'], 'expected an integer <= 4096 (the limit)'],
    [['density', '--checkpoint', 'CKPT', '--heatmap', 'h.png', '--batch', '100000'], 'expected an integer <= 65536 (the limit)'],
    [['eval', '--checkpoint', 'CKPT', '--batch', '100000'], 'expected an integer <= 65536 (the limit)'],
    [['train', '--preset', 'nice-2d', '--batch', '100000'], 'expected an integer <= 65536 (the limit)'],
  ])('%j is refused with its limit', async (args, message) => {
    const r = await inProcess(args.map((a) => (a === 'CKPT' ? ckpt : a)));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
  });

  test('a PNG grid beyond the pixel limit is refused before anything is sampled', () => {
    expect(() => checkGridSize(100_000, [1, 28, 28], 32)).toThrow(/sample: a grid of 100000 images at --zoom 32 is 284350×283453 pixels, above the PNG limit of 67108864 pixels/);
    expect(() => checkGridSize(64, [1, 28, 28], 2)).not.toThrow();
  });
});
