import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createFlow, runReference, traceFlow } from '@bijective/core';
import { main } from '../src/cli/main.js';
import { getPreset, loadDataset, nsfFlow, PresetError } from '../src/node.js';

/** Runs the CLI in this process, capturing what it writes. */
async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bijective-nsf-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('neural spline flow presets', () => {
  test('nsf-2d: spline couplings alternating the half; nsf-maf-2d: spline MADE blocks with reversals; both start as the identity', () => {
    const c = getPreset('nsf-2d').spec();
    expect(c.layers.map((l) => (l.type === 'splineCoupling' ? `${l.type}${l.parity ?? '?'}` : l.type))).toEqual(['splineCoupling0', 'splineCoupling1', 'splineCoupling0', 'splineCoupling1']);
    expect(c.layers[0]).toMatchObject({ bins: 8, bound: 5, conditioner: { type: 'mlp', hidden: [64, 64] } });
    const a = getPreset('nsf-maf-2d').spec();
    expect(a.layers.map((l) => l.type)).toEqual(['splineAutoregressive', 'permute', 'splineAutoregressive', 'permute', 'splineAutoregressive', 'permute', 'splineAutoregressive']);
    expect(getPreset('nsf-2d').specForDim!(5).event).toEqual([5]);
    // 4 couplings × (1·64 + 64 + 64·64 + 64 + 64·23 + 23): an MLP from the 1 conditioning feature to 3K − 1 = 23 raw spline parameters.
    expect(Object.values(createFlow(c).params).reduce((n, p) => n + p.data.length, 0)).toBe(4 * (64 + 64 + 64 * 64 + 64 + 64 * 23 + 23));
    // Fresh: every spline the identity (inside [−5, 5] and in the tails), so z = x, reversed by nsf-maf-2d's three reversals.
    const x = { data: Float64Array.from([0.3, -1.2, 4.9, 2.5, -7, 0]), shape: [3, 2] };
    for (const [spec, expected] of [[c, [0.3, -1.2, 4.9, 2.5, -7, 0]], [a, [-1.2, 0.3, 2.5, 4.9, 0, -7]]] as const) {
      const flow = createFlow(spec);
      const out = runReference(flow, traceFlow(flow, 'density'), { x });
      expect(Math.max(...out.z!.data.map((v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-12);
      expect(Math.max(...out.logDet!.data.map(Math.abs))).toBeLessThan(1e-12);
    }
    expect(() => nsfFlow({ event: [1], transform: 'coupling' })).toThrow(PresetError);
    // Images take spline couplings in a Glow skeleton (nsf-fmnist); an autoregressive image flow is refused.
    expect(() => nsfFlow({ event: [1, 4, 4], transform: 'autoregressive' })).toThrow(/nsf: images \[C, H, W\] take transform 'coupling', got 'autoregressive'/);
    expect(() => nsfFlow({ event: [2], transform: 'coupling', bins: 1 })).toThrow(/nsf: bins must be an integer >= 2, got 1/);
  });

  test('nsf-2d trains on the 2-D mixture (300 steps), and its exported log_prob.onnx in plain onnxruntime-node reproduces eval', async () => {
    const run = join(dir, 'run');
    const t = await inProcess(['train', '--preset', 'nsf-2d', '--dataset', 'mixture', '--steps', '300', '--batch', '256', '--lr', '0.002', '--eval-every', '300', '--out', run, '--quiet']);
    expect(t.code, t.stderr).toBe(0);
    const ev = await inProcess(['eval', '--checkpoint', run]);
    expect(ev.code, ev.stderr).toBe(0);
    const result = JSON.parse(ev.stdout) as { nll: number; n: number; kl: { value: number; stdErr: number }; entropy: { value: number } };
    expect(result.n).toBe(10000);
    console.log(`nsf-2d after 300 steps: test NLL ${result.nll.toFixed(4)}, KL ${result.kl.value.toFixed(4)} ± ${result.kl.stdErr.toFixed(4)} nats`);
    expect(result.kl.value).toBeGreaterThan(0);
    expect(result.kl.value).toBeLessThan(0.25);
    const exp = await inProcess(['export', '--checkpoint', run, '--out', join(dir, 'onnx')]);
    expect(exp.code, exp.stderr).toBe(0);
    const data = await loadDataset('mixture', { seed: 1 });
    if (data.kind !== 'vector') throw new Error('expected vectors');
    const session = await ort.InferenceSession.create(join(dir, 'onnx', 'log_prob.onnx'), { graphOptimizationLevel: 'all' });
    try {
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(data.test), [data.nTest, 2]) });
      const logProb = out.log_prob!.data as Float32Array;
      let nll = 0;
      for (const v of logProb) nll -= v;
      expect(Math.abs(nll / logProb.length - result.nll)).toBeLessThan(1e-4);
    } finally {
      await session.release();
    }
  }, 300_000);
});
