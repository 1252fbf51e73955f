import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerEngineProvider, type GradientEngine } from '@bijective/core';
import { loadCheckpoint } from '@bijective/core/node';
import { tfjsGradients, tfjsRuntime } from '@bijective/backend-tfjs';
import { runCliInProcess as run } from './helpers.js';

/**
 * `bijective train --engine E` takes any engine whose status says `trains: true`, through core's
 * registry (core's trainer driving the engine's GradientEngine), and refuses the others with the
 * list of engines that train. Two in-test engines stand for backends this package does not
 * know: `fake-train` (its gradients are tfjs-cpu's under another name, counted) and
 * `fake-infer` (runs flows, cannot train).
 */
let compiled = 0;
registerEngineProvider({
  family: 'fake',
  engines: ['fake-train', 'fake-infer'],
  async status(engine) {
    return { engine, family: 'fake', available: true, trains: engine === 'fake-train', detail: 'tfjs-cpu under another name' };
  },
  openRuntime: (flow) => tfjsRuntime(flow, { engine: 'tfjs-cpu' }),
  async openGradients(engine): Promise<GradientEngine> {
    const inner = await tfjsGradients('tfjs-cpu');
    return {
      engine,
      async compile(graph, options) {
        compiled += 1;
        const p = await inner.compile(graph, options);
        return { engine, run: (inputs, params) => p.run(inputs, params), dispose: () => p.dispose() };
      },
    };
  },
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bijective-train-engines-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bijective train --engine', () => {
  test('trains on a registered engine that is not tfjs, with its checkpoint and resume', async () => {
    const out = join(dir, 'fake');
    const r = await run(['train', '--preset', 'realnvp-2d', '--engine', 'fake-train', '--steps', '6', '--checkpoint-every', '3', '--out', out, '--quiet']);
    expect(r.stderr).not.toMatch(/bijective:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^done after 6 steps on fake-train \(0 rejected, 0 rollbacks\)$/m);
    // The loss program and the evaluation program (a data-dependent init has its own when the preset has ActNorm).
    expect(compiled).toBeGreaterThanOrEqual(2);
    const saved = await loadCheckpoint(out);
    expect(saved.meta.training).toMatchObject({ step: 6, updates: 6, engine: 'fake-train' });
    const resumed = await run(['train', '--resume', '--engine', 'fake-train', '--steps', '9', '--out', out, '--quiet']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^done after 9 steps on fake-train/m);
  });

  test('refuses an engine that cannot train, naming the engines that do', async () => {
    const r = await run(['train', '--preset', 'realnvp-2d', '--engine', 'fake-infer', '--steps', '1', '--out', join(dir, 'no')]);
    expect(r.code).not.toBe(0);
    const line = r.stderr.split('\n').find((l) => l.startsWith('bijective:'))!;
    const m = /^bijective: engine 'fake-infer' runs flows but cannot train them .*; engines that train here: (.*)$/.exec(line);
    expect(m, line).not.toBeNull();
    const trainers = m![1]!.split(', ');
    expect(trainers).toEqual(expect.arrayContaining(['reference', 'tfjs-cpu', 'tfjs-wasm', 'fake-train']));
    expect(trainers).not.toContain('fake-infer');
  });
});
