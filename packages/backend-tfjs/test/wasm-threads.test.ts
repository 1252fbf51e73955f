import { describe, expect, it } from 'vitest';
import { referenceRuntime } from '@bijective/core';
import { caseFlow, caseInput, flowCases } from '@bijective/core/testing';
import { configureWasm, listEngines, tfjsRuntime } from '../src/node.js';

/**
 * The single-threaded wasm build in Node (`configureWasm({ threads: 1 })`; every other test
 * file runs the default, the threaded build): it starts with one thread and computes what
 * the reference computes. Its own test file, because the wasm backend is chosen once per
 * process.
 */
describe('tfjs-wasm with 1 thread (Node)', () => {
  it('starts the single-threaded SIMD build and agrees with the reference on multi-scale flows', async () => {
    configureWasm({ threads: 1 });
    const wasm = (await listEngines()).find((e) => e.engine === 'tfjs-wasm')!;
    expect(wasm.available, wasm.reason).toBe(true);
    expect(wasm.detail).toBe('SIMD, 1 thread');
    for (const c of flowCases().filter((f) => f.name === 'flow/glow-multiscale' || f.name === 'flow/maf-vector')) {
      const flow = caseFlow(c);
      const x = caseInput(c, 4);
      const rt = await tfjsRuntime(flow, { engine: 'tfjs-wasm' });
      const got = await rt.logProb(x);
      const want = await referenceRuntime(flow).logProb(x);
      for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - want[i]!), c.name).toBeLessThan(1e-4 * (1 + Math.abs(want[i]!)));
      await rt.dispose();
    }
  });
});
