import { densityLossGraph, engineStatus, GraphBuilder, LOSS_OUTPUTS, openGradients, referenceGradientEngine, type Flow, type FlowSpec, type GradientEngine, type Tensor } from '@bijective/core';
import { caseFlow, caseInput, flowCases, gradientError, perturbParams } from '@bijective/core/testing';
import { describe, expect, it } from 'vitest';
import { exportGradientModel, ortGradientEngine } from '../src/gradients.js';
import { lowerGraph } from '../src/lower.js';
import { encodeModel } from '../src/model.js';
import { onnx } from '../src/proto.js';
import '../src/node.js';
import { ORT, type TestEngine } from './helpers.js';

const ENGINES: TestEngine[] = ['ort-node-cpu', 'ort-web-wasm'];

/**
 * Float32 tolerance: ORT computes in float32 (unit roundoff 6e-8); the gradients here sum a few
 * hundred terms. Errors are measured against the largest gradient entry of the whole flow (at
 * least 1): a small tensor's entries are sums whose terms have the flow's magnitude, so float32
 * cancellation leaves an absolute error of that scale (spline-coupling-image: a bias gradient of
 * −0.0659 off by 1.4e-5 where other gradients reach 14; gf-vector: an exact 0 computed as −1.2e-7).
 * Measured: ≤ 3.5e-6 on every flow case.
 */
const GRAD_TOL = 1e-5;

async function compare(ort: GradientEngine, flow: Flow, inputs: Record<string, Tensor>) {
  const graph = densityLossGraph(flow);
  const wrt = Object.keys(graph.params).filter((k) => flow.paramDecls[k]!.trainable !== false);
  const params = Object.fromEntries(Object.keys(graph.params).map((k) => [k, flow.params[k]!.data]));
  const opts = { loss: LOSS_OUTPUTS.loss, wrt, outputs: [LOSS_OUTPUTS.logProb] };
  const ref = await (await referenceGradientEngine.compile(graph, opts)).run(inputs, params);
  const prog = await ort.compile(graph, opts);
  try {
    const got = await prog.run(inputs, params);
    const { worst } = gradientError(got.grads, ref.grads, wrt);
    expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref.loss)));
    const lp = got.outputs.logProb!;
    ref.outputs.logProb!.forEach((v, i) => expect(Math.abs(lp[i]! - v)).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))));
    expect(worst).toBeLessThan(GRAD_TOL);
    return { prog, wrt, params };
  } catch (e) {
    await prog.dispose();
    throw e;
  }
}

describe.each(ENGINES)('ORT gradients on %s', (engine) => {
  const ort = ortGradientEngine(ORT[engine], engine, { executionProviders: [engine === 'ort-node-cpu' ? 'cpu' : 'wasm'], graphOptimizationLevel: 'all' });

  it.each(flowCases().map((c) => [c.name, c] as const))('%s: loss, logProb and gradients within float32 tolerance of the reference', async (_n, c) => {
    const { prog } = await compare(ort, caseFlow(c), { x: caseInput(c, 6) });
    await prog.dispose();
  });

  it('a conditional flow: the context is a second input', async () => {
    const spec: FlowSpec = { version: 1, event: [3], context: [2], layers: [{ type: 'affineCoupling', mask: 'half', parity: 0, conditioner: { type: 'mlp', hidden: [6] } }, { type: 'maf', hidden: [6], order: 'natural' }] };
    const c = { name: 'flow/conditional', spec, domain: 'real' as const };
    const ctx = caseInput({ ...c, spec: { ...spec, event: [2] } }, 5, 3);
    const { prog } = await compare(ort, caseFlow(c), { x: caseInput(c, 5), context: ctx });
    await prog.dispose();
  });

  it('one session serves every step: new parameters (and the folded values computed from them) give new gradients', async () => {
    const c = flowCases().find((k) => k.name === 'flow/actnorm-invconv-vector')!;
    const flow = caseFlow(c);
    const x = caseInput(c, 6);
    const { prog, wrt } = await compare(ort, flow, { x });
    try {
      perturbParams(flow, 0.1, 99);
      const params = Object.fromEntries(Object.entries(flow.params).map(([k, p]) => [k, p.data]));
      const ref = await (await referenceGradientEngine.compile(densityLossGraph(flow), { loss: 'loss', wrt })).run({ x }, params);
      const got = await prog.run({ x }, params);
      expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref.loss)));
      for (const p of wrt) {
        const r = ref.grads[p]!;
        const scale = Math.max(1e-2, ...Array.from(r, Math.abs));
        got.grads[p]!.forEach((v, i) => expect(Math.abs(v - r[i]!) / scale).toBeLessThan(GRAD_TOL));
      }
    } finally {
      await prog.dispose();
    }
    await expect(prog.run({ x }, {})).rejects.toThrow(/after dispose/);
  });
});

describe('ORT gradient model', () => {
  it('has the parameters as inputs, not initializers, and folds parameter-only values per step', () => {
    const c = flowCases().find((k) => k.name === 'flow/actnorm-invconv-vector')!;
    const flow = caseFlow(c);
    const graph = densityLossGraph(flow);
    const m = exportGradientModel(graph, { loss: 'loss', wrt: Object.keys(graph.params) });
    expect(Object.values(m.paramInputs).sort()).toEqual(Object.keys(graph.params).filter((k) => Object.values(m.paramInputs).includes(k)).sort());
    // The plain 1x1 convolution's log|det W| gradient needs W⁻ᵀ: computed per step, not embedded.
    expect(m.paramOnlyGraph.nodes.some((n) => n.op === 'matrixInverse')).toBe(true);
    expect(Object.keys(m.computedInputs).length).toBeGreaterThan(0);
    const model = onnx.ModelProto.decode(m.bytes);
    const inputNames = model.graph!.input!.map((v) => v.name);
    expect(inputNames).toEqual(expect.arrayContaining(['x', ...Object.keys(m.paramInputs), ...Object.keys(m.computedInputs)]));
    // No initializer carries a parameter's values: every float initializer is a constant of the graph (masks, zeros, scalars).
    const paramSizes = new Set(Object.values(graph.params).map((s) => (s as number[]).reduce((a, b) => a * b, 1)));
    const floatInits = model.graph!.initializer!.filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT);
    for (const t of floatInits) {
      const size = (t.dims ?? []).reduce<number>((a, b) => a * Number(b), 1);
      if (size > 1 && paramSizes.has(size)) {
        const values = new Float32Array(t.rawData!.slice().buffer);
        expect(Object.keys(graph.params).some((k) => flow.params[k]!.data.every((v, i) => v === values[i]))).toBe(false);
      }
    }
  });

  it('selects gradient masks by multiplication: no Where with a zero branch, each ReLU mask a HardSigmoid of the output (no Less, no Cast)', () => {
    const flow = caseFlow(flowCases().find((k) => k.name === 'flow/realnvp-image')!);
    const graph = densityLossGraph(flow);
    const nodes = onnx.ModelProto.decode(exportGradientModel(graph, { loss: 'loss', wrt: Object.keys(graph.params) }).bytes).graph!.node!;
    const relus = graph.nodes.filter((n) => n.op === 'relu').length;
    expect(relus).toBeGreaterThan(0);
    // The one Where left is abs's where(x ≥ 0, dy, −dy) (the logit's |·|), no scalar branch.
    expect(nodes.filter((n) => n.opType === 'Where')).toHaveLength(1);
    expect(nodes.filter((n) => n.opType === 'HardSigmoid')).toHaveLength(relus);
    expect(nodes.filter((n) => n.opType === 'Less' || n.opType === 'Cast')).toHaveLength(0);
    // Values: the flow cases above compare this model's gradients with the reference.
  });

  it('the ReLU mask HardSigmoid(y; α = 2^126) = clip(y · 2^126, 0, 1) passes dy whole for every normal y > 0, blocks it at 0, and only scales it for denormal y', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 4]);
    const dy = g.input('dy', ['N', 4]);
    const y = g.relu(x);
    g.output('dx', g.where(g.less(g.scalar(0), y), dy, g.scalar(0)));
    const graph = g.build();
    const bytes = encodeModel(lowerGraph(graph, {}, { inputs: { x: 'x', dy: 'dy' }, outputs: { dx: 'dx' } }, { maskedSelect: true }).graph, { producerVersion: 'test' });
    expect(onnx.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType)).toEqual(['Relu', 'HardSigmoid', 'Mul', 'Identity']);
    const session = await ORT['ort-node-cpu'].InferenceSession.create(bytes);
    const t = (d: number[]) => new ORT['ort-node-cpu'].Tensor('float32', Float32Array.from(d), [2, 4]);
    const minNormal = 2 ** -126;
    const xs = [minNormal, -1, 0, 3e38, 1e-20, 0.5, minNormal / 4, -minNormal];
    const out = Array.from((await session.run({ x: t(xs), dy: t([2, 2, 2, 2, 2, 2, 2, 2]) })).dx!.data as Float32Array);
    await session.release();
    expect(out.slice(0, 6)).toEqual([2, 0, 0, 2, 2, 2]);
    // The documented inexactness: a denormal activation's gradient is scaled by y · 2^126 (here 1/4).
    expect(out[6]).toBeCloseTo(0.5, 6);
    expect(out[7]).toBe(0);
  });

  it('maskedSelect: where(c, a, 0) as a · c equals Where for finite values, and is NaN where the dropped value is infinite', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 4]);
    const y = g.input('y', ['N', 4]);
    g.output('keep', g.where(g.less(g.scalar(0), x), y, g.scalar(0)));
    g.output('drop', g.where(g.less(g.scalar(0), x), g.scalar(0), y));
    const graph = g.build();
    const io = { inputs: { x: 'x', y: 'y' }, outputs: { keep: 'keep', drop: 'drop' } };
    const run = async (maskedSelect: boolean, yData: number[]) => {
      const bytes = encodeModel(lowerGraph(graph, {}, io, { maskedSelect }).graph, { producerVersion: 'test' });
      const model = onnx.ModelProto.decode(bytes);
      const session = await ORT['ort-node-cpu'].InferenceSession.create(bytes);
      const t = (d: number[]) => new ORT['ort-node-cpu'].Tensor('float32', Float32Array.from(d), [2, 4]);
      const out = await session.run({ x: t([1, -1, 0, 2, -3, 4, -5, 0.5]), y: t(yData) });
      await session.release();
      return { wheres: model.graph!.node!.filter((n) => n.opType === 'Where').length, keep: Array.from(out.keep!.data as Float32Array), drop: Array.from(out.drop!.data as Float32Array) };
    };
    const finite = [1, 2, 3, 4, 5, 6, 7, 8];
    const plain = await run(false, finite);
    const masked = await run(true, finite);
    expect([plain.wheres, masked.wheres]).toEqual([2, 0]);
    expect(plain.keep).toEqual([1, 0, 0, 4, 0, 6, 0, 8]);
    expect(plain.drop).toEqual([0, 2, 3, 0, 5, 0, 7, 0]);
    expect(masked.keep).toEqual(plain.keep);
    expect(masked.drop).toEqual(plain.drop);
    // The documented difference: 0 · Inf is NaN (the trainer rejects a non-finite step).
    const inf = [1, Infinity, 3, 4, 5, 6, 7, 8];
    expect((await run(false, inf)).keep[1]).toBe(0);
    expect((await run(true, inf)).keep[1]).toBeNaN();
  });

  it('trains through core’s registry on ort-node-cpu and ort-web-wasm', async () => {
    for (const engine of ENGINES) {
      expect(await engineStatus(engine)).toMatchObject({ available: true, trains: true });
      expect((await openGradients(engine)).engine).toBe(engine);
    }
    expect((await engineStatus('ort-node-cuda')).trains).toBe(false);
  });
});
