import { describe, expect, it } from 'vitest';
import { LOSS_OUTPUTS, densityLossGraph, runReference, type FlowSpec } from '../src/index.js';
import { caseFlow, caseInput, flowCases } from '../src/testing/index.js';
import { encode, randomFlow, randomInput } from './helpers.js';

describe('densityLossGraph', () => {
  it.each(flowCases().map((c) => [c.name, c] as const))('%s: loss is −mean log p(x) of the density graph', (_name, c) => {
    const flow = caseFlow(c);
    const x = caseInput(c, 5);
    const out = runReference(flow, densityLossGraph(flow), { x });
    const logProb = encode(flow, x).logProb.data;
    const mean = Array.from(logProb).reduce((a, b) => a + b, 0) / logProb.length;
    expect(out[LOSS_OUTPUTS.loss]!.shape).toEqual([]);
    expect(Math.abs(out[LOSS_OUTPUTS.loss]!.data[0]! + mean)).toBeLessThan(1e-12 * Math.max(1, Math.abs(mean)));
    expect(Array.from(out[LOSS_OUTPUTS.logProb]!.data)).toEqual(Array.from(logProb));
  });

  it('feeds a conditional flow its context', () => {
    const spec: FlowSpec = { version: 1, event: [3], context: [2], layers: [{ type: 'affineCoupling', mask: 'half', parity: 0, conditioner: { type: 'mlp', hidden: [8] } }] };
    const flow = randomFlow(spec, 3);
    const x = randomInput([4, 3], 4);
    const loss = (c: number) => runReference(flow, densityLossGraph(flow), { x, context: { data: new Float64Array(8).fill(c), shape: [4, 2] } })[LOSS_OUTPUTS.loss]!.data[0]!;
    expect(Number.isFinite(loss(0))).toBe(true);
    expect(Math.abs(loss(0) - loss(1))).toBeGreaterThan(1e-6);
  });
});
