import { describe, expect, it } from 'vitest';
import { createFlow, inversePermutation, permutationOf, traceFlow, type FlowSpec } from '../src/index.js';
import { decode, encode, maxAbsDiff, numericalLogDet, randomInput, specErrorOf } from './helpers.js';

const flowOf = (event: number[], layer: Record<string, unknown>) => createFlow({ version: 1, event, layers: [{ type: 'permute', ...layer }] } as FlowSpec);

describe('permute', () => {
  it('builds the reverse and seeded random permutations', () => {
    expect(permutationOf({ type: 'permute', kind: 'reverse' }, 5)).toEqual([4, 3, 2, 1, 0]);
    const p = permutationOf({ type: 'permute', kind: 'random', seed: 4 }, 20);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(p).not.toEqual(permutationOf({ type: 'permute', kind: 'random', seed: 5 }, 20));
    const inv = inversePermutation(p);
    expect(p.map((v) => inv[v])).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it.each([
    { kind: 'reverse' },
    { kind: 'random', seed: 6 },
  ])('permutes features of vectors ($kind), inverts exactly, log-det 0', (layer) => {
    const d = 16;
    const flow = flowOf([d], layer);
    const perm = permutationOf(flow.spec.layers[0] as never, d);
    const x = randomInput([3, d]);
    const { z, logDet } = encode(flow, x);
    for (let n = 0; n < 3; n++) for (let i = 0; i < d; i++) expect(z.data[n * d + i]).toBe(x.data[n * d + perm[i]!]);
    expect(maxAbsDiff(decode(flow, z).x.data, x.data)).toBe(0);
    expect(Array.from(logDet.data)).toEqual([0, 0, 0]);
    // A permutation matrix has |det| = 1.
    expect(Math.abs(numericalLogDet(flow, Float64Array.from(x.data.subarray(0, d)), [d]))).toBeLessThan(1e-9);
    expect(traceFlow(flow, 'density').nodes.filter((n) => n.op === 'gather')).toHaveLength(1);
  });

  it.each([
    { kind: 'reverse' },
    { kind: 'random', seed: 2 },
  ])('permutes channels of images ($kind), keeping each channel plane intact', (layer) => {
    const [c, h, w] = [6, 3, 2];
    const flow = flowOf([c, h, w], layer);
    const perm = permutationOf(flow.spec.layers[0] as never, c);
    const x = randomInput([2, c, h, w]);
    const { z, logDet } = encode(flow, x);
    const plane = h * w;
    for (let n = 0; n < 2; n++) {
      for (let ch = 0; ch < c; ch++) {
        for (let k = 0; k < plane; k++) expect(z.data[(n * c + ch) * plane + k]).toBe(x.data[(n * c + perm[ch]!) * plane + k]);
      }
    }
    expect(maxAbsDiff(decode(flow, z).x.data, x.data)).toBe(0);
    expect(Array.from(logDet.data)).toEqual([0, 0]);
    expect(Math.abs(numericalLogDet(flow, Float64Array.from(x.data.subarray(0, c * plane)), [c, h, w]))).toBeLessThan(1e-9);
  });

  it('keeps the seed in the spec and rejects a missing or misplaced one', () => {
    expect(flowOf([4], {}).spec.layers[0]).toEqual({ type: 'permute', kind: 'reverse' });
    expect(flowOf([4], { kind: 'random', seed: 3 }).spec.layers[0]).toEqual({ type: 'permute', kind: 'random', seed: 3 });
    expect(specErrorOf(() => flowOf([4], { kind: 'random' })).path).toBe('spec.layers[0].seed');
    expect(specErrorOf(() => flowOf([4], { kind: 'reverse', seed: 1 })).path).toBe('spec.layers[0].seed');
    expect(specErrorOf(() => flowOf([4], { kind: 'random', seed: 1.5 })).path).toBe('spec.layers[0].seed');
    expect(specErrorOf(() => flowOf([4], { kind: 'shuffle' })).path).toBe('spec.layers[0].kind');
  });
});
