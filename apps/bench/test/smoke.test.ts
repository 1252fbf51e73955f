import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from '../src/browser/driver.js';
import type { BenchResults } from '../src/results.js';
import { validateResults } from '../src/validate.js';

/**
 * The CLI end to end, as `npm run bench` starts it: one tiny preset on ort-node-cpu,
 * tfjs-wasm and Chromium's ort-web-wasm (plus ort-node-cuda, which either runs or must be
 * reported as skipped with its reason), a few short timed samples per cell.
 */
const appDir = fileURLToPath(new URL('..', import.meta.url));

/** Runs the bench CLI; `onStdout` sees the output so far after each chunk (and the child, to signal it). */
function runCli(args: string[], onStdout?: (stdout: string, child: ChildProcess) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=@bijective/source', '--import', 'tsx', 'src/main.ts', ...args], { cwd: appDir, env: { ...process.env, INIT_CWD: appDir } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run bench (smoke)', () => {
  let out: string;
  let run: { code: number | null; stdout: string; stderr: string };
  let results: BenchResults;
  const chromium = findChromium();

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
    run = await runCli([
      '--presets', 'nice-2d',
      '--engines', 'node/ort-node-cpu,node/tfjs-wasm,chromium/ort-web-wasm,node/ort-node-cuda',
      '--batch', '1,8',
      // --max-time 500 (hard cap 2 s): on a loaded machine a 60 ms cap ended cells after 2 samples.
      '--warmup', '10', '--min-time', '20', '--max-time', '500', '--min-samples', '5',
      '--out', out,
    ]);
    if (run.code === 0) results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as BenchResults;
  }, 150_000);
  afterAll(() => rm(out, { recursive: true, force: true }));

  it('exits 0 and writes a valid results.json with the machine and engine versions', () => {
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    expect(validateResults(results)).toEqual([]);
    expect(results.machine.cores).toBeGreaterThanOrEqual(1);
    expect(results.engines.find((e) => e.id === 'node/ort-node-cpu')!.versions['onnxruntime-node']).toMatch(/^\d+\.\d+\.\d+/);
    expect(results.engines.find((e) => e.id === 'node/tfjs-wasm')!.versions['@tensorflow/tfjs-backend-wasm']).toMatch(/^\d+\.\d+\.\d+/);
    for (const f of ['report.md', 'report.html', 'preset-nice-2d.svg']) expect(existsSync(join(out, f)), f).toBe(true);
  });

  it('checked every engine against the reference and every check passed', () => {
    const ran = results.engines.filter((e) => e.status === 'ran').map((e) => e.id);
    expect(ran).toEqual(expect.arrayContaining(['node/ort-node-cpu', 'node/tfjs-wasm', ...(chromium ? ['chromium/ort-web-wasm'] : [])]));
    for (const id of ran) {
      for (const task of ['logProb', 'sample']) {
        const c = results.checks.find((x) => x.engineId === id && x.task === task);
        expect(c?.status, `${id} ${task}: ${c?.message}`).toBe('pass');
        expect(c!.maxAbsError!).toBeLessThan(1e-3);
      }
    }
    const rows = results.measurements.filter((m) => ran.includes(m.engineId));
    expect(rows).toHaveLength(ran.length * 2 * 2);
    for (const m of rows) {
      expect(m.status, `${m.engineId} ${m.task} @${m.batch}: ${m.error}`).toBe('ok');
      expect(m.timing!.samples).toBeGreaterThanOrEqual(3);
      expect(m.memory!.peakBytes).toBeGreaterThan(1e6);
    }
  });

  it('measured the GEMM peak and derived the roofline column from it', () => {
    expect('gflops' in results.gemm && results.gemm.gflops).toBeGreaterThan(0.1);
    const m = results.measurements.find((x) => x.engineId === 'node/ort-node-cpu' && x.status === 'ok')!;
    expect(m.roofline).toBeCloseTo(m.gflops! / (results.gemm as { gflops: number }).gflops, 12);
  });

  it('reports engines it could not run, and those left out, as skipped with a reason', () => {
    const cuda = results.engines.find((e) => e.id === 'node/ort-node-cuda')!;
    if (cuda.status !== 'ran') expect(cuda.reason).toMatch(/\w{8,}/);
    expect(results.engines.find((e) => e.id === 'node/tfjs-cpu')).toMatchObject({ status: 'skipped', reason: 'not selected (--engines)' });
    if (!chromium) expect(results.engines.find((e) => e.id === 'chromium/ort-web-wasm')).toMatchObject({ status: 'skipped', reason: expect.stringContaining('apt-get install chromium') });
  });

  it('printed the live table and the summary', () => {
    expect(run.stdout).toMatch(/\[1\/\d+\]\s+node\/tfjs-wasm\s+nice-2d\s+logProb\s+1 /);
    expect(run.stdout).toContain('Which engine wins where');
    expect(run.stdout).toContain(`wrote 6 files to ${out}`);
  });
});

describe('npm run bench -- --tasks train (smoke)', () => {
  const chromium = findChromium();
  let out: string;
  let run: { code: number | null; stdout: string; stderr: string };
  let results: BenchResults;

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'bench-train-'));
    run = await runCli([
      '--presets', 'realnvp-2d',
      '--tasks', 'train',
      // chromium/ort-web-webgpu runs flows but does not train: its train cell must be skipped with why.
      '--engines', 'node/tfjs-cpu,node/ort-node-cpu,chromium/ort-web-wasm,chromium/ort-web-webgpu',
      '--batch', '16',
      '--warmup', '10', '--min-time', '20', '--max-time', '500', '--min-samples', '3',
      '--out', out,
    ]);
    if (run.code === 0) results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as BenchResults;
  }, 150_000);
  afterAll(() => rm(out, { recursive: true, force: true }));

  it('checks every training engine\'s gradients against the reference, then times a full step: positive throughput', () => {
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    expect(validateResults(results)).toEqual([]);
    expect(results.options.tasks).toEqual(['train']);
    expect(results.presets[0]!.flops.train!.flops).toBeGreaterThan(results.presets[0]!.flops.logProb.flops);
    const trainers = ['node/tfjs-cpu', 'node/ort-node-cpu', ...(chromium ? ['chromium/ort-web-wasm'] : [])];
    for (const id of trainers) {
      const c = results.checks.find((x) => x.engineId === id && x.task === 'train');
      expect(c?.status, `${id}: ${c?.message}`).toBe('pass');
      const m = results.measurements.find((x) => x.engineId === id && x.task === 'train')!;
      expect(m, `${id} @16: ${m?.error}`).toMatchObject({ status: 'ok', batch: 16 });
      expect(m.throughput).toBeGreaterThan(0);
      expect(m.gflops).toBeGreaterThan(0);
    }
    expect(results.measurements.every((m) => m.task === 'train')).toBe(true);
  });

  it('skips the train cell of an engine that cannot train, with the reason, and reports the training steps', async () => {
    const webgpu = results.engines.find((e) => e.id === 'chromium/ort-web-webgpu')!;
    if (webgpu.status === 'ran') {
      expect(results.measurements.find((m) => m.engineId === 'chromium/ort-web-webgpu')).toMatchObject({ status: 'skipped', error: expect.stringContaining('cannot train') });
      expect(results.checks.some((c) => c.engineId === 'chromium/ort-web-webgpu')).toBe(false);
    }
    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toContain('## Training steps');
    expect(md).toMatch(/\| realnvp-2d \| 16 \| node\/ort-node-cpu \| [\d.]+ [µm]?s \|/);
    expect(existsSync(join(out, 'train-throughput.svg'))).toBe(true);
    expect(run.stdout).toMatch(/node\/ort-node-cpu\s+realnvp-2d\s+train\s+16 /);
  });
});

describe('npm run bench, interrupted (Ctrl-C)', () => {
  // In Chromium where there is one: playwright must not take the signal and exit first.
  const engines = findChromium() ? 'chromium/ort-web-wasm,chromium/tfjs-wasm' : 'node/ort-node-cpu,node/ort-web-wasm';
  it(`stops measuring, writes the report of the cells measured so far with a note, and exits 130 (${engines})`, async () => {
    const out = await mkdtemp(join(tmpdir(), 'bench-interrupted-'));
    try {
      let sent = false;
      const { code, stdout, stderr } = await runCli(
        [
          '--presets', 'nice-2d',
          '--engines', engines,
          '--batch', '1,8',
          '--warmup', '10', '--min-time', '400', '--max-time', '600', '--min-samples', '5',
          '--out', out,
        ],
        (text, child) => {
          // Interrupt as soon as the first cell is reported.
          if (!sent && /\[1\/\d+\]/.test(text)) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      );
      expect(sent, stdout.slice(-2000)).toBe(true);
      expect(code, stderr.slice(-3000)).toBe(130);
      expect(stderr).toContain('SIGINT: stopping; writing the report of the cells measured so far');
      const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as BenchResults;
      expect(validateResults(results)).toEqual([]);
      expect(results.notes.join('\n')).toMatch(/^Interrupted by the user while (node|chromium)\/\S+ was running: \d+ cells were measured/m);
      // 2 engines × 2 tasks × 2 batches were planned; the run stopped before the end.
      const measured = results.measurements.filter((m) => m.status === 'ok');
      expect(measured.length).toBeGreaterThanOrEqual(1);
      expect(results.measurements.length).toBeLessThan(8);
      expect(existsSync(join(out, 'report.md'))).toBe(true);
      expect(await readFile(join(out, 'report.md'), 'utf8')).toContain('Interrupted by the user');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 150_000);
});
