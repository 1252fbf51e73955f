import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { createFlow } from '@bijective/core';
import { EngineError, listEngines, tfjsRuntime, useEngine } from '../src/node.js';

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
});
