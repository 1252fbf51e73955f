import { describe, expect, it } from 'vitest';
import { densityLossGraph, layerRegistry, LOSS_OUTPUTS, openGradients, runReference, traceFlow, type FlowSpec } from '../src/index.js';
import { caseFlow, caseInput, flowCases } from '../src/testing/index.js';
import { checkGradients } from './gradcheck.js';
import { randomFlow, randomInput } from './helpers.js';

const cases = flowCases();

describe('parameter gradients of densityLossGraph', () => {
  it('every layer in the registry has a flow case', () => {
    const used = new Set<string>(cases.flatMap((c) => c.spec.layers.map((l) => l.type)));
    expect([...layerRegistry.keys()].filter((t) => !used.has(t))).toEqual([]);
  });

  // Every parameter tensor, a sample of its entries (spread evenly), against central differences.
  it.each(cases.map((c) => [c.name, c] as const))('%s: matches central differences', (_n, c) => {
    const flow = caseFlow(c);
    const graph = densityLossGraph(flow);
    const { worst, checked } = checkGradients(graph, { x: caseInput(c, 4) }, flow.params, { inputs: false, sample: 6, wrt: Object.keys(graph.params) });
    expect(checked).toBeGreaterThanOrEqual(Object.keys(graph.params).length);
    expect(worst).toBeLessThan(1e-6);
  });

  it('a conditional flow: gradients through the context path', () => {
    const spec: FlowSpec = { version: 1, event: [3], context: [2], layers: [
      { type: 'affineCoupling', mask: 'half', parity: 0, conditioner: { type: 'mlp', hidden: [6] } },
      { type: 'maf', hidden: [6], order: 'natural' },
    ] };
    const flow = randomFlow(spec, 4);
    const x = randomInput([4, 3], 5);
    const context = randomInput([4, 2], 6);
    const { worst } = checkGradients(densityLossGraph(flow), { x, context }, flow.params, { sample: 6 });
    expect(worst).toBeLessThan(1e-6);
  });
});

describe('reference GradientEngine', () => {
  it('returns the loss, kept outputs and float32 gradients of the gradient graph', async () => {
    const c = cases.find((k) => k.name === 'flow/glow-multiscale')!;
    const flow = caseFlow(c);
    const x = caseInput(c, 3);
    const engine = await openGradients('reference');
    const wrt = Object.keys(flow.params).filter((k) => flow.paramDecls[k]!.trainable !== false);
    const program = await engine.compile(densityLossGraph(flow), { loss: LOSS_OUTPUTS.loss, wrt, outputs: [LOSS_OUTPUTS.logProb] });
    const params = Object.fromEntries(Object.entries(flow.params).map(([k, p]) => [k, p.data]));
    const got = await program.run({ x }, params);
    const logProb = runReference(flow, traceFlow(flow, 'density'), { x }).logProb!.data;
    expect(Array.from(got.outputs.logProb!)).toEqual(Array.from(logProb));
    expect(got.loss).toBeCloseTo(-Array.from(logProb).reduce((a, b) => a + b, 0) / 3, 12);
    expect(Object.keys(got.grads).sort()).toEqual([...wrt].sort());
    // One entry by central differences (float64 loss), to 1e-6 relative after the float32 rounding of the gradient.
    const name = wrt[0]!;
    const p = flow.params[name]!;
    const loss = () => runReference(flow, densityLossGraph(flow), { x })[LOSS_OUTPUTS.loss]!.data[0]!;
    const v = p.data[0]!;
    const eps = 1e-3;
    p.data[0] = v + eps;
    const up = loss();
    p.data[0] = v - eps;
    const down = loss();
    p.data[0] = v;
    expect(Math.abs(got.grads[name]![0]! - (up - down) / (2 * eps))).toBeLessThan(1e-4 * Math.max(1, Math.abs(got.grads[name]![0]!)));
    await expect(program.run({}, params)).rejects.toThrow(/input 'x' was not given/);
    await program.dispose();
    await expect(program.run({ x }, params)).rejects.toThrow(/after dispose/);
  });
});
