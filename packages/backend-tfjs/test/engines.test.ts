import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { EngineUnavailableError, createFlow, engineStatus, listEngines as listAllEngines, openRuntime, referenceRuntime } from '@bijective/core';
import { EngineError, listEngines, tfjsRuntime, useEngine } from '../src/node.js';
import { batch, perturbedFlow } from './helpers.js';

describe('engines (Node entry point)', () => {
  it('lists every engine honestly: cpu and wasm run here, the others say why not', async () => {
    const engines = await listEngines();
    const by = Object.fromEntries(engines.map((e) => [e.engine, e]));
    expect(engines.map((e) => e.engine)).toEqual(['tfjs-cpu', 'tfjs-wasm', 'tfjs-node', 'tfjs-node-gpu', 'tfjs-webgl', 'tfjs-webgpu']);
    expect(by['tfjs-cpu']!.available).toBe(true);
    expect(by['tfjs-wasm']!.available).toBe(true);
    // The default: 2 threads where there are 2 cores or more.
    expect(by['tfjs-wasm']!.detail).toBe(os.availableParallelism() >= 2 ? 'SIMD, 2 threads' : 'SIMD, 1 thread');
    for (const [name, pkg] of [['tfjs-node', '@tensorflow/tfjs-node'], ['tfjs-node-gpu', '@tensorflow/tfjs-node-gpu']] as const) {
      expect(by[name]!.available).toBe(false);
      expect(by[name]!.reason).toMatch(new RegExp(`${pkg.replace('/', '\\/')} is not installed`));
      expect(by[name]!.install).toBe(`npm install ${pkg}`);
    }
    expect(by['tfjs-webgl']!.reason).toMatch(/needs a browser/);
    expect(by['tfjs-webgpu']!.reason).toMatch(/needs a browser/);
  });

  it('asking for an unavailable engine says why and lists the available ones', async () => {
    await expect(useEngine('tfjs-node')).rejects.toThrow(EngineError);
    await expect(useEngine('tfjs-node')).rejects.toThrow(/'tfjs-node' is not available: @tensorflow\/tfjs-node is not installed.*npm install @tensorflow\/tfjs-node.*Available here: tfjs-cpu, tfjs-wasm/);
    await expect(useEngine('tfjs-webgpu')).rejects.toThrow(/WebGPU needs a browser/);
    await expect(useEngine('cuda')).rejects.toThrow(/unknown engine 'cuda'.*available here: tfjs-cpu, tfjs-wasm/);
  });

  it("'auto' picks the fastest engine available here", async () => {
    const rt = await tfjsRuntime(createFlow({ version: 1, event: [2], layers: [{ type: 'scale' }] }), { engine: 'auto' });
    expect(rt.engine).toBe('tfjs-wasm');
    await rt.dispose();
  });

  it("registers the tfjs engines with core's engine seam, with the same statuses and runtimes", async () => {
    const all = await listAllEngines();
    const tfjs = all.filter((e) => e.family === 'tfjs');
    expect(tfjs.map((e) => e.engine)).toEqual(['tfjs-cpu', 'tfjs-wasm', 'tfjs-node', 'tfjs-node-gpu', 'tfjs-webgl', 'tfjs-webgpu']);
    expect(await engineStatus('tfjs-node')).toMatchObject({ available: false, reason: expect.stringMatching(/not installed/), install: 'npm install @tensorflow/tfjs-node' });
    await expect(openRuntime(createFlow({ version: 1, event: [2], layers: [{ type: 'scale' }] }), 'tfjs-node')).rejects.toThrow(EngineUnavailableError);
    await expect(openRuntime(createFlow({ version: 1, event: [2], layers: [{ type: 'scale' }] }), 'tfjs-node')).rejects.toThrow(/install: npm install @tensorflow\/tfjs-node.*available engines: .*tfjs-cpu, tfjs-wasm/);

    const flow = perturbedFlow({ version: 1, event: [3], layers: [{ type: 'iaf', hidden: [8] }, { type: 'permute', kind: 'reverse' }, { type: 'iaf', hidden: [8] }] });
    const x = batch([3], 4);
    const rt = await openRuntime(flow, 'tfjs-cpu');
    const ref = referenceRuntime(flow);
    const got = await rt.logProb(x);
    const want = await ref.logProb(x);
    for (let i = 0; i < 4; i++) expect(got[i]!).toBeCloseTo(want[i]!, 4);
    // The guard's checks hold on registry runtimes: a wrong event shape names what was expected.
    await expect(rt.logProb({ data: new Float32Array(8), shape: [4, 2] })).rejects.toThrow(/logProb: x: shape \[4, 2\], expected \[N, 3\]/);
    await rt.dispose();
    await expect(rt.logProb(x)).rejects.toThrow(/disposed/);
  });
});
