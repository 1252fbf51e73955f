import { describe, expect, it } from 'vitest';
import type { FlowSpec } from '../src/index.js';
import { decode, encode, maxAbsDiff, numericalLogDet, randomFlow, randomInput } from './helpers.js';

const vec: FlowSpec = {
  version: 1,
  event: [16],
  layers: [
    { type: 'additiveCoupling', mask: 'half', parity: 0, conditioner: { type: 'mlp', hidden: [8] } },
    { type: 'additiveCoupling', mask: 'alternating', parity: 1, conditioner: { type: 'mlp', hidden: [8], activation: 'tanh' } },
    { type: 'scale' },
  ],
};

describe('NICE', () => {
  it('inverts and its log-det matches the numerical Jacobian (vector)', () => {
    const flow = randomFlow(vec);
    const x = randomInput([3, 16]);
    const { z, logDet } = encode(flow, x);
    expect(maxAbsDiff(decode(flow, z).x.data, x.data)).toBeLessThan(1e-10);
    const num = numericalLogDet(flow, Float64Array.from(x.data.subarray(0, 16)), [16]);
    expect(Math.abs(num - logDet.data[0]!) / Math.abs(num)).toBeLessThan(1e-6);
  });
});
