import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResults } from '../src/results.js';
import { mafVsIaf, overheads, winners } from '../src/report/analysis.js';
import { writeReport } from '../src/report/write.js';
import { validateResults } from '../src/validate.js';

/**
 * The report generator on a fixed results.json: six engines (two skipped, one software
 * WebGPU), a wrong engine that is faster than the winner, MAF and IAF at D = 784.
 */
const fixture = JSON.parse(await readFile(new URL('./fixtures/results.json', import.meta.url), 'utf8')) as BenchResults;

describe('analysis of the fixture', () => {
  it('is a valid results.json', () => {
    expect(validateResults(fixture)).toEqual([]);
  });

  it('picks the fastest correct engine per cell, never a wrong one', () => {
    const w = winners(fixture);
    const cell = (preset: string, task: string, batch: number) => w.find((x) => x.preset === preset && x.task === task && x.batch === batch)!;
    const lp1 = cell('nice-2d', 'logProb', 1);
    expect(lp1.winner.engineId).toBe('node/ort-node-cpu');
    expect(lp1.runnerUp!.engineId).toBe('node/ort-web-wasm');
    expect(lp1.margin).toBeCloseTo(0.208 / 0.0534, 12);
    expect(lp1.spread).toBeCloseTo(999 / 0.0534, 9);
    // ort-web-wasm's sample is 40 µs but WRONG: ort-node-cpu wins, the wrong one is named.
    const s1 = cell('nice-2d', 'sample', 1);
    expect(s1.winner.engineId).toBe('node/ort-node-cpu');
    expect(s1.runnerUp!.engineId).toBe('node/tfjs-wasm');
    expect(s1.fasterButWrong.map((m) => m.engineId)).toEqual(['node/ort-web-wasm']);
    expect(w.every((x) => x.winner.status === 'ok')).toBe(true);
    expect(w).toHaveLength(8);
  });

  it('marks a win whose confidence interval overlaps the runner-up\'s as not established', () => {
    const r = structuredClone(fixture);
    const w0 = winners(r).find((x) => x.preset === 'nice-2d' && x.task === 'sample' && x.batch === 64)!;
    expect(w0).toMatchObject({ tied: false, runnerUp: { engineId: 'node/tfjs-wasm' } });
    // Pull the runner-up's interval down into the winner's (0.192–0.210 ms).
    const runner = r.measurements.find((m) => m.engineId === 'node/tfjs-wasm' && m.preset === 'nice-2d' && m.task === 'sample' && m.batch === 64)!;
    runner.timing!.ciLowMs = 0.205;
    expect(winners(r).find((x) => x.preset === 'nice-2d' && x.task === 'sample' && x.batch === 64)!.tied).toBe(true);
    runner.timing!.ciLowMs = 0.211;
    expect(winners(r).find((x) => x.preset === 'nice-2d' && x.task === 'sample' && x.batch === 64)!.tied).toBe(false);
  });

  it('estimates per-call overhead from batch 1 against the largest batch', () => {
    const o = overheads(fixture).find((x) => x.engineId === 'node/ort-node-cpu' && x.preset === 'nice-2d' && x.task === 'logProb')!;
    expect(o.batch1Ms).toBe(0.0534);
    expect(o.largeBatch).toBe(64);
    expect(o.perExampleMs).toBeCloseTo(0.25 / 64, 15);
    expect(o.overheadShare).toBeCloseTo(1 - 0.25 / 64 / 0.0534, 12);
  });

  it('pairs MAF and IAF at D = 784 per engine', () => {
    const p = mafVsIaf(fixture).find((x) => x.engineId === 'node/ort-node-cpu')!;
    expect(p).toEqual({ engineId: 'node/ort-node-cpu', batch: 16, maf: { logProb: 2, sample: 900 }, iaf: { logProb: 850, sample: 2.2 } });
  });
});

describe('writeReport', () => {
  let dir: string;
  let files: string[];
  const read = (name: string) => readFile(join(dir, name), 'utf8');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-report-'));
    files = (await writeReport(fixture, dir)).files;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes results.json, one SVG per chart, report.md and report.html, and nothing half-written', async () => {
    expect(files).toEqual(['results.json', 'preset-nice-2d.svg', 'preset-maf-784.svg', 'preset-iaf-784.svg', 'maf-vs-iaf.svg', 'overhead-batch1.svg', 'gflops.svg', 'report.md', 'report.html']);
    expect((await readdir(dir)).sort()).toEqual([...files].sort());
    expect(JSON.parse(await read('results.json'))).toEqual(fixture);
  });

  it('draws every correct engine with its median, and no bar for the wrong one', async () => {
    const svg = await read('preset-nice-2d.svg');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const label of ['node/ort-node-cpu', 'node/tfjs-wasm', 'node/ort-web-wasm', 'chromium/tfjs-webgpu†']) expect(svg).toContain(label);
    for (const median of ['53.4 µs', '1.38 ms', '208 µs', '999 ms', '250 µs', '62.9 µs', '874 ms', '1.70 ms']) expect(svg).toContain(median);
    expect(svg).not.toContain('40.0 µs'); // ort-web-wasm's wrong sample @1
    expect(svg).not.toContain('150 µs'); // ort-web-wasm's wrong sample @64
    const mi = await read('maf-vs-iaf.svg');
    // Per example at batch 16: 900 ms / 16 = 56.3 ms (MAF sampling), 2 ms / 16 = 125 µs (MAF density).
    for (const s of ['maf-784', 'iaf-784', '56.3 ms', '125 µs', '53.1 ms', '138 µs', 'node/tfjs-wasm']) expect(mi).toContain(s);
  });

  it('puts the winners, margins, skipped engines, wrong checks and the software-GPU caveat in report.md', async () => {
    const md = await read('report.md');
    // The last two columns: the fastest engine in Chromium (for code that must run in a browser).
    expect(md).toContain('\n| nice-2d | logProb | 1 | node/ort-node-cpu | 53.4 µs | 18.7k | node/ort-web-wasm | 208 µs | 3.9× | 18708× |  | chromium/tfjs-webgpu† | 999 ms |\n');
    expect(md).toContain('\n| nice-2d | sample | 1 | node/ort-node-cpu | 62.9 µs | 15.9k | node/tfjs-wasm | 863 µs | 14× | 13895× | node/ort-web-wasm | chromium/tfjs-webgpu† | 874 ms |\n');
    expect(md).toContain('\n| maf-784 | sample | 16 | node/ort-node-cpu | 900 ms | 17.8 | node/tfjs-wasm | 3.00 s | 3.3× | 3.3× |  | – | – |\n');
    expect(md).toContain('- In Chromium: chromium/tfjs-webgpu† fastest in 2 of 2.');
    expect(md).toMatch(/### Not timed\n[^#]*chromium\/tfjs-webgpu† nice-2d logProb @64: not timed: one call would take about 64 s/);
    expect(md).toMatch(/node\/tfjs-node \| skipped \| @tensorflow\/tfjs-node is not installed.*install: npm install @tensorflow\/tfjs-node/);
    expect(md).toMatch(/chromium\/ort-web-webgpu \| skipped \| onnxruntime-web's webgpu backend failed to start/);
    expect(md).toContain('WRONG');
    expect(md).toContain('entry 3 is 1.7, reference 2.45');
    expect(md).toContain('† WebGPU here is a software adapter');
    expect(md).toContain('SOFTWARE (CPU) implementation');
    expect(md).toContain('40.0 GFLOP/s');
    // MAF vs IAF: sample ÷ logProb = 450× for MAF, logProb ÷ sample = 386× for IAF.
    expect(md).toContain('| node/ort-node-cpu | 16 | 125 µs | 56.3 ms | 450× | 53.1 ms | 138 µs | 386× |');
    // Overhead share for ort-node-cpu nice-2d logProb: 1 − (0.25/64)/0.0534 = 93%.
    expect(md).toContain('| node/ort-node-cpu | nice-2d | logProb | 53.4 µs | 64 | 3.91 µs | 93% |');
    for (const f of files.filter((f) => f.endsWith('.svg'))) expect(md).toContain(`(${f})`);
  });

  it('makes report.html self-contained: inline SVG charts, every table, no external resources', async () => {
    const html = await read('report.html');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<svg /g)).toHaveLength(6);
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    for (const e of fixture.engines) expect(html).toContain(e.id);
    for (const s of ['53.4 µs', '3.9×', '18.7k', 'WRONG', 'onnxruntime-web&#39;s webgpu backend failed to start'.replace('&#39;', "'"), 'software adapter', 'Fixture CPU 9000', '40.0 GFLOP/s', '450×']) {
      expect(html).toContain(s);
    }
  });
});

describe('writeReport with train cells', () => {
  let dir: string;
  let r: BenchResults;
  beforeAll(async () => {
    r = structuredClone(fixture);
    r.options.tasks = ['logProb', 'sample', 'train'];
    r.presets[0]!.flops.train = { macs: 75_000, other: 9000, flops: 159_000 };
    const timing = (medianMs: number) => ({ ...structuredClone(fixture.measurements[0]!.timing!), medianMs, p10Ms: medianMs * 0.95, p90Ms: medianMs * 1.1, minMs: medianMs * 0.9, maxMs: medianMs * 1.2, ciLowMs: medianMs * 0.97, ciHighMs: medianMs * 1.03 });
    const check = { preset: 'nice-2d', task: 'train' as const, batch: 4, compared: 'the loss and gradients', tolerance: { rtol: 1e-3, atol: 4e-4 }, coldMs: 300 };
    r.checks.push({ ...check, engineId: 'node/ort-node-cpu', status: 'pass', maxAbsError: 1.4e-5, maxRelError: 0.03 });
    r.checks.push({ ...check, engineId: 'node/tfjs-wasm', status: 'wrong', maxAbsError: 0.05, maxRelError: 0.01, message: 'd loss / d layer0.w[3] is 1.05, reference 1 (|error| 5.00e-2 > 4.00e-4 + 0.001·|ref|)' });
    const row = (engine: string, status: 'ok' | 'wrong', ms: number) => ({ engineId: `node/${engine}`, engine, host: 'node' as const, preset: 'nice-2d', task: 'train' as const, batch: 16, status, timing: timing(ms), throughput: 16 / (ms / 1000), gflops: (159_000 * 16) / (ms / 1000) / 1e9 });
    r.measurements.push(row('ort-node-cpu', 'ok', 2), row('tfjs-wasm', 'wrong', 1));
    r.measurements.push({ engineId: 'node/ort-web-wasm', engine: 'ort-web-wasm', host: 'node', preset: 'nice-2d', task: 'train', batch: 16, status: 'skipped', error: 'not timed: ort-web-wasm runs flows but cannot train them (its engine status says trains: false)' });
    dir = await mkdtemp(join(tmpdir(), 'bench-report-train-'));
    await writeReport(r, dir);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is valid, and a WRONG training engine never wins even when faster', () => {
    expect(validateResults(r)).toEqual([]);
    const w = winners(r).find((x) => x.task === 'train')!;
    expect(w.winner.engineId).toBe('node/ort-node-cpu');
    expect(w.fasterButWrong.map((m) => m.engineId)).toEqual(['node/tfjs-wasm']);
  });

  it('has the training-steps table, the throughput chart and the train flops in report.md and report.html', async () => {
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('## Training steps');
    const section = md.slice(md.indexOf('## Training steps'), md.indexOf('## Training steps') + 2000);
    expect(md, section).toContain('| nice-2d | 16 | node/ort-node-cpu | 2.00 ms | 1.90 ms–2.20 ms | 8.00k | pass (max \\|err\\| 1.4e-5) | ok |');
    expect(md).toMatch(/\| nice-2d \| 16 \| node\/tfjs-wasm \| 1\.00 ms \|.*\| WRONG: d loss \/ d layer0\.w\[3\] is 1\.05/);
    expect(md).toMatch(/node\/ort-web-wasm nice-2d train @16: not timed: ort-web-wasm runs flows but cannot train them/);
    expect(md).toContain('![training throughput](train-throughput.svg)');
    expect(md).toContain('MFLOP/example train step');
    expect(md).toContain('"train" times one full training step');
    const svg = await readFile(join(dir, 'train-throughput.svg'), 'utf8');
    expect(svg).toContain('node/ort-node-cpu');
    expect(svg).not.toContain('node/tfjs-wasm'); // WRONG rows get no bar
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('Training steps');
    expect(html).toContain('examples/s of training (log)');
  });
});
