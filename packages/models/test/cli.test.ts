import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { createFlow } from '@bijective/core';
import { saveCheckpoint } from '@bijective/core/node';
import { getPreset, loadDataset, presets } from '../src/node.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from source, as `npm run cli` does, in a child process (what a user runs: exit codes, stderr). */
function cli(args: readonly string[], timeout = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=@bijective/source', '--import', 'tsx', join(packageRoot, 'src/cli/bin.ts'), ...args],
      { cwd: packageRoot, timeout, env: { ...process.env, BIJECTIVE_DEBUG: '' } },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs the CLI in this process (cheap), capturing what it writes. */
async function inProcess(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Warnings that native engine libraries may print are not ours; every other stderr line is. */
const ourLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() !== '');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bijective-cli-'));
  // An untrained checkpoint, for errors that need one to get that far.
  await saveCheckpoint(join(dir, 'fresh'), createFlow(getPreset('realnvp-2d').spec()), { dataset: 'mixture' });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bijective CLI end to end on the 2-D mixture', () => {
  const run = () => join(dir, 'run');

  test('train 150 steps, resume to 300 → eval → sample → density → export → log_prob.onnx reproduces eval', async () => {
    const common = ['--preset', 'realnvp-2d', '--dataset', 'mixture', '--batch', '128', '--lr', '0.002', '--eval-every', '100', '--checkpoint-every', '100', '--out', run()];
    const first = await cli(['train', ...common, '--steps', '150']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/done after 150 steps on tfjs-wasm/);
    const again = await inProcess(['train', ...common, '--steps', '150']);
    expect(again.code).toBe(1);
    expect(ourLines(again.stderr)).toEqual([`bijective: train: ${run()} already holds a checkpoint; pass --resume to continue it, or choose another --out`]);
    const resumed = await cli(['train', ...common, '--steps', '300', '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/done after 300 steps/);

    const flowJson = JSON.parse(await readFile(join(run(), 'flow.json'), 'utf8')) as { meta: Record<string, unknown> & { metrics: { test: { nll: number; n: number } }; training: { step: number } } };
    expect(flowJson.meta.preset).toBe('realnvp-2d');
    expect(flowJson.meta.command).toMatch(/^bijective train --preset realnvp-2d .*--resume$/);
    expect((flowJson.meta.commands as string[]).map((c) => c.endsWith('--resume'))).toEqual([false, true]);
    expect(flowJson.meta.training.step).toBe(300);
    expect(flowJson.meta.metrics.test.n).toBe(10000);

    // metrics.jsonl: whole JSON lines: two starts, step records, evaluations, the final test.
    const records = (await readFile(join(run(), 'metrics.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { kind: string; step?: number });
    expect(records.filter((r) => r.kind === 'start')).toHaveLength(2);
    expect(records.filter((r) => r.kind === 'test')).toHaveLength(2);
    expect(records.filter((r) => r.kind === 'eval').map((r) => r.step)).toEqual([99, 149, 199, 299]);
    expect(records.filter((r) => r.kind === 'step').at(-1)!.step).toBe(299);

    const ev = await inProcess(['eval', '--checkpoint', run()]);
    expect(ev.code, ev.stderr).toBe(0);
    const result = JSON.parse(ev.stdout) as { nll: number; n: number; engine: string; natsPerDim: number; kl: { value: number; stdErr: number }; entropy: { value: number } };
    expect(result.engine).toBe('tfjs-wasm');
    expect(result.n).toBe(10000);
    expect(result.natsPerDim).toBeCloseTo(result.nll / 2, 12);
    expect(result.nll).toBeCloseTo(flowJson.meta.metrics.test.nll, 4);
    // 300 steps learn most of the mixture: better than the best single Gaussian would be, and
    // the paired KL estimate equals nll − entropy up to the entropy's Monte Carlo error.
    expect(result.kl.value).toBeGreaterThan(0);
    expect(result.kl.value).toBeLessThan(1);
    expect(Math.abs(result.nll - result.entropy.value - result.kl.value)).toBeLessThan(0.05);

    const samples = await inProcess(['sample', '--checkpoint', run(), '--n', '50', '--seed', '3', '--out', join(dir, 's.csv')]);
    expect(samples.code, samples.stderr).toBe(0);
    const rows = (await readFile(join(dir, 's.csv'), 'utf8')).trimEnd().split('\n');
    expect(rows[0]).toBe('x0,x1');
    expect(rows).toHaveLength(51);
    const values = rows.slice(1).flatMap((r) => r.split(',').map(Number));
    expect(values.every(Number.isFinite)).toBe(true);
    expect(Math.max(...values.map(Math.abs))).toBeLessThan(10);
    // The same seed on the reference engine draws the same noise, so the same points (float32 vs float64).
    await inProcess(['sample', '--checkpoint', run(), '--n', '50', '--seed', '3', '--engine', 'reference', '--out', join(dir, 's-ref.csv')]);
    const refValues = (await readFile(join(dir, 's-ref.csv'), 'utf8')).trimEnd().split('\n').slice(1).flatMap((r) => r.split(',').map(Number));
    expect(Math.max(...values.map((v, i) => Math.abs(v - refValues[i]!)))).toBeLessThan(1e-3);

    await writeFile(join(dir, 'points.csv'), 'x,y\n0,0\n2,2\n-2,-1.5\n');
    const dens = await inProcess(['density', '--checkpoint', run(), '--points', join(dir, 'points.csv'), '--heatmap', join(dir, 'h.png'), '--size', '64']);
    expect(dens.code, dens.stderr).toBe(0);
    const lines = dens.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('x0,x1,log_density');
    const logDensity = lines.slice(1).map((l) => Number(l.split(',')[2]));
    expect(logDensity).toHaveLength(3);
    // (2, 2) and (−2, −1.5) are component means; (0, 0) lies between components.
    expect(logDensity[1]!).toBeGreaterThan(logDensity[0]!);
    expect(logDensity[2]!).toBeGreaterThan(logDensity[0]!);
    const png = PNG.sync.read(await readFile(join(dir, 'h.png')));
    expect([png.width, png.height]).toEqual([64, 64]);

    const exp = await inProcess(['export', '--checkpoint', run(), '--out', join(dir, 'onnx'), '--triton']);
    expect(exp.code, exp.stderr).toBe(0);
    expect(await readFile(join(dir, 'onnx', 'triton', 'realnvp-2d_log_prob', 'config.pbtxt'), 'utf8')).toMatch(/dynamic_batching/);

    // The exported model in plain onnxruntime-node, on the same 10,000 test points eval used.
    const data = await loadDataset('mixture', { seed: 1 });
    if (data.kind !== 'vector') throw new Error('expected vectors');
    const session = await ort.InferenceSession.create(join(dir, 'onnx', 'log_prob.onnx'));
    try {
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(data.test), [data.nTest, 2]) });
      const logProb = out.log_prob!.data as Float32Array;
      let nll = 0;
      for (const v of logProb) nll -= v;
      nll /= logProb.length;
      // Two float32 engines, mean over 10,000 points: agreement to ~1e-6 relative; 1e-4 nats allowed.
      expect(Math.abs(nll - result.nll)).toBeLessThan(1e-4);
    } finally {
      await session.release();
    }
    // About 20 s on an idle 2-core machine; the generous limit is for a busy one.
  }, 300_000);

  test('info on a preset', async () => {
    const [fromPreset, fromGlow] = await Promise.all([cli(['info', '--preset', 'realnvp-2d', '--json']), cli(['info', '--preset', 'glow-fmnist-small'])]);
    expect(fromPreset.code, fromPreset.stderr).toBe(0);
    const info = JSON.parse(fromPreset.stdout) as { parameters: number; layers: number; flopsPerExample: { density: number } };
    // 8 couplings × (MLP 1→64→64→2: 64+64 + 64·64+64 + 64·2+2 weights and biases, + 1 scale factor).
    expect(info.parameters).toBe(8 * (1 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2 + 1));
    expect(info.layers).toBe(8);
    expect(info.flopsPerExample.density).toBeGreaterThan(2 * 8 * (64 + 64 * 64 + 64 * 2));
    expect(fromGlow.stdout).toMatch(/flow glow-fmnist-small {2}event \[1, 28, 28\] {2}51 layers/);
    expect(fromGlow.stdout).toMatch(/parameters: [\d,]+ trainable/);
  });
});

describe('bijective CLI usage', () => {
  const commands = ['train', 'eval', 'sample', 'edit', 'density', 'export', 'info', 'presets', 'datasets', 'engines'];

  test('--help on every command', async () => {
    const root = await inProcess(['--help']);
    expect(root.code).toBe(0);
    for (const c of commands) expect(root.stdout).toContain(c);
    for (const c of commands) {
      const r = await inProcess([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toContain(`Usage: bijective ${c}`);
    }
    expect((await inProcess(['train', '--help'])).stdout).toMatch(/--resume[\s\S]*--seed/);
  });

  test('presets lists every preset with the training defaults train takes for it', async () => {
    const r = await inProcess(['presets']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(Object.keys(presets).length);
    expect(lines.find((l) => l.startsWith('mintnet-fmnist-small '))).toMatch(/^mintnet-fmnist-small +mintnet +dataset fmnist +steps 4000 +batch 64 +lr 1e-3 +MintNet on 1×28×28/);
    expect(lines.find((l) => l.startsWith('nsf-fmnist '))).toMatch(/steps 20000 +batch 64 +lr 5e-4 /);
  });

  const errorCases = (): [string[], RegExp][] => [
    [['eval', '--checkpoint', join(dir, 'missing')], /^bijective: no checkpoint at .*missing: expected a folder with flow\.json and weights\.safetensors$/],
    [['train', '--preset', 'glow-cifar'], /^bijective: unknown preset 'glow-cifar'; known presets: nice-2d, .*iaf-784$/],
    [['info', '--preset', 'nope'], /^bijective: unknown preset 'nope'/],
    [['train', '--preset', 'glow-fmnist-small', '--data-dir', join(dir, 'empty'), '--out', join(dir, 'g')], /^bijective: Fashion-MNIST not found: looked in .*empty .*apt-get install dataset-fashion-mnist.*--data-dir/],
    [['train', '--preset', 'realnvp-2d', '--dataset', 'cifar', '--out', join(dir, 'c')], /^bijective: unknown dataset 'cifar'; known datasets: /],
    [['train', '--preset', 'realnvp-2d', '--engine', 'tfjs-webgl', '--steps', '1', '--out', join(dir, 'w')], /^bijective: engine 'tfjs-webgl' is not available: WebGL needs a browser/],
    [['eval', '--checkpoint', join(dir, 'fresh'), '--engine', 'ort-node-cuda'], /^bijective: engine 'ort-node-cuda' is not available: /],
    [['train', '--preset', 'realnvp-2d', '--dataset', 'fmnist', '--out', join(dir, 'f')], /^bijective: preset 'realnvp-2d' models events of shape \[2\] \(2 values\); dataset 'fmnist' has examples of shape \[1, 28, 28\]/],
    [['train', '--preset', 'realnvp-2d', '--steps', 'many'], /^bijective: option '--steps <n>' argument 'many' is invalid\. expected an integer >= 1, got 'many'$/],
    [['sample', '--checkpoint', join(dir, 'missing'), '--out', join(dir, 'x.gif')], /^bijective: sample: --out must end in \.png or \.csv/],
    [['density', '--checkpoint', join(dir, 'missing')], /^bijective: density: pass --points FILE\.csv, --heatmap FILE\.png, or both$/],
    [['frobnicate'], /^bijective: unknown command 'frobnicate'$/],
  ];

  function expectOneLine(r: Run, args: string[], message: RegExp): void {
    expect(r.code, args.join(' ')).not.toBe(0);
    const lines = ourLines(r.stderr).filter((l) => l !== '(run with --help for usage)');
    expect(lines, args.join(' ')).toHaveLength(1);
    expect(lines[0], args.join(' ')).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }

  test('errors are one line on stderr and a non-zero exit code, never a stack', async () => {
    for (const [args, message] of errorCases()) expectOneLine(await inProcess(args), args, message);
  });

  test('the executable: the same one-line errors and exit codes from a child process', async () => {
    const picked = errorCases().filter(([args]) => ['eval', 'frobnicate'].includes(args[0]!) && args.length <= 3);
    const runs = await Promise.all(picked.map(([args]) => cli(args)));
    runs.forEach((r, i) => expectOneLine(r, picked[i]![0], picked[i]![1]));
  });
});
