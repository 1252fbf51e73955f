import { createFlow, densityLossGraph, LOSS_OUTPUTS, referenceGradientEngine, trainableParams, type Flow, type FlowSpec, type GradientProgram, type Tensor } from '@bijective/core';
import { caseFlow, caseInput, flowCases, gradientError, perturbParams } from '@bijective/core/testing';
import { describe, expect, it } from 'vitest';
import { ortGradients } from '../src/node.js';
import { batchSlices, SPLIT_MAX_PARAMS, worthSplitting } from '../src/parallel.js';

/** Loss and gradients of `flow`'s density loss on `x` from `prog` and from the float64 reference. */
async function both(prog: GradientProgram, flow: Flow, x: Tensor) {
  const graph = densityLossGraph(flow);
  const wrt = trainableParams(flow);
  const params = Object.fromEntries(Object.entries(flow.params).map(([k, p]) => [k, Float32Array.from(p.data)]));
  const ref = await (await referenceGradientEngine.compile(graph, { loss: LOSS_OUTPUTS.loss, wrt })).run({ x }, params);
  const got = await prog.run({ x }, params);
  return { ref, got, wrt };
}

function glowCase() {
  const c = flowCases().find((k) => k.name === 'flow/glow-multiscale')!;
  const flow = caseFlow(c);
  // Away from the identity init, so every slice's gradients differ.
  perturbParams(flow, 0.2, 7);
  return { c, flow };
}

describe('batchSlices', () => {
  it('cuts a batch into contiguous slices of sizes differing by at most one, never empty', () => {
    expect(batchSlices(64, 2)).toEqual([{ start: 0, size: 32 }, { start: 32, size: 32 }]);
    expect(batchSlices(7, 3)).toEqual([{ start: 0, size: 3 }, { start: 3, size: 2 }, { start: 5, size: 2 }]);
    expect(batchSlices(2, 4)).toEqual([{ start: 0, size: 1 }, { start: 1, size: 1 }]);
    expect(batchSlices(5, 1)).toEqual([{ start: 0, size: 5 }]);
  });
});

describe('worthSplitting (the default: workers only where the copies cost less than they save)', () => {
  const split = (spec: FlowSpec) => {
    const flow = createFlow(spec, { seed: 0 });
    return worthSplitting(densityLossGraph(flow), trainableParams(flow));
  };
  it('splits image flows with few parameters; keeps 2-D flows and flows with millions of parameters on one session', () => {
    const glow: FlowSpec = { version: 1, event: [1, 8, 8], layers: [{ type: 'squeeze' }, { type: 'actNorm' }, { type: 'affineCoupling', mask: 'channel', parity: 0, conditioner: { type: 'cnn', hidden: 8 } }] };
    expect(split(glow)).toBe(true);
    expect(split({ ...glow, event: [1, 4, 4], layers: glow.layers })).toBe(false);
    expect(split({ version: 1, event: [2], layers: [{ type: 'affineCoupling', mask: 'half', parity: 0, conditioner: { type: 'mlp', hidden: [64, 64] } }] })).toBe(false);
    // A MADE of 784 inputs and one hidden layer of 700: 784·700·2 ≈ 1.1M weights, over the limit.
    const big: FlowSpec = { version: 1, event: [784], layers: [{ type: 'maf', hidden: [700], order: 'natural' }] };
    const flow = createFlow(big, { seed: 0 });
    const n = trainableParams(flow).reduce((a, p) => a + flow.params[p]!.data.length, 0);
    expect(n).toBeGreaterThan(SPLIT_MAX_PARAMS);
    expect(split(big)).toBe(false);
  });
});

describe('data-parallel gradients on ort-node-cpu (worker threads)', () => {
  it('3 workers on a batch of 7 (slices 3, 2, 2): loss and gradients match the float64 reference and one session', async () => {
    const { c, flow } = glowCase();
    const x = caseInput(c, 7);
    const graph = densityLossGraph(flow);
    const opts = { loss: LOSS_OUTPUTS.loss, wrt: trainableParams(flow), meanOverBatch: true };
    const parallel = await (await ortGradients({ workers: 3 })).compile(graph, opts);
    const single = await (await ortGradients({ workers: 1 })).compile(graph, opts);
    try {
      const { ref, got, wrt } = await both(parallel, flow, x);
      const one = await both(single, flow, x);
      // An unweighted mean of the three slice means would be off by far more than float32 rounding.
      expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref.loss)));
      expect(gradientError(got.grads, ref.grads, wrt).worst).toBeLessThan(1e-5);
      expect(gradientError(got.grads, one.got.grads, wrt).worst).toBeLessThan(1e-5);
      // Deterministic: the same batch gives bit-identical results.
      const again = await parallel.run({ x }, Object.fromEntries(Object.entries(flow.params).map(([k, p]) => [k, Float32Array.from(p.data)])));
      expect(again.loss).toBe(got.loss);
      for (const p of wrt) expect(Array.from(again.grads[p]!)).toEqual(Array.from(got.grads[p]!));
    } finally {
      await parallel.dispose();
      await single.dispose();
    }
    await expect(parallel.run({ x }, {})).rejects.toThrow(/after dispose/);
  });

  it('the mean of unequal slices is weighted by their sizes (a batch of 3 on 2 workers equals the reference)', async () => {
    const { c, flow } = glowCase();
    const x = caseInput(c, 3);
    const prog = await (await ortGradients({ workers: 2 })).compile(densityLossGraph(flow), { loss: LOSS_OUTPUTS.loss, wrt: trainableParams(flow), meanOverBatch: true });
    try {
      const { ref, got } = await both(prog, flow, x);
      expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref.loss)));
      // A batch of 1 uses one worker.
      const one = await both(prog, flow, { data: x.data.slice(0, x.data.length / 3), shape: [1, ...x.shape.slice(1)] });
      expect(Math.abs(one.got.loss - one.ref.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(one.ref.loss)));
    } finally {
      await prog.dispose();
    }
  });

  it('without meanOverBatch (kept outputs: batch statistics) a program runs on one session, outputs included', async () => {
    const { c, flow } = glowCase();
    const x = caseInput(c, 5);
    const graph = densityLossGraph(flow);
    const prog = await (await ortGradients({ workers: 2 })).compile(graph, { loss: LOSS_OUTPUTS.loss, wrt: [], outputs: [LOSS_OUTPUTS.logProb] });
    try {
      const params = Object.fromEntries(Object.entries(flow.params).map(([k, p]) => [k, Float32Array.from(p.data)]));
      expect((await prog.run({ x }, params)).outputs.logProb!.length).toBe(5);
    } finally {
      await prog.dispose();
    }
    await expect((await ortGradients({ workers: 2 })).compile(graph, { loss: LOSS_OUTPUTS.loss, wrt: [], outputs: [LOSS_OUTPUTS.logProb], meanOverBatch: true })).rejects.toThrow(
      /meanOverBatch does not allow kept outputs \(logProb\)/,
    );
  });

  it('refuses bad worker counts and engines other than ort-node-cpu, and reports a worker’s failure', async () => {
    await expect(ortGradients({ workers: 0 })).rejects.toThrow(/workers must be a positive integer, got 0/);
    await expect(ortGradients({ workers: 1.5 })).rejects.toThrow(/workers must be a positive integer, got 1.5/);
    await expect(ortGradients({ engine: 'ort-web-wasm', workers: 2 })).rejects.toThrow(/worker threads are for ort-node-cpu only/);
    const { c, flow } = glowCase();
    const prog = await (await ortGradients({ workers: 2 })).compile(densityLossGraph(flow), { loss: LOSS_OUTPUTS.loss, wrt: trainableParams(flow), meanOverBatch: true });
    try {
      const x = caseInput(c, 4);
      const params = Object.fromEntries(Object.entries(flow.params).map(([k, p]) => [k, Float32Array.from(p.data)]));
      // Wrong event shape: ONNX Runtime in the worker refuses it, and the error names the worker.
      await expect(prog.run({ x: { data: x.data, shape: [4, 1, 2, 2, 8] } }, params)).rejects.toThrow(/gradient worker 1\/2: .*x/);
    } finally {
      await prog.dispose();
    }
  });
});
