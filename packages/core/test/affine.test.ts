import { describe, expect, it } from 'vitest';
import { createFlow, type LayerSpec } from '../src/index.js';
import { checkBijection, encode, flowSpec, randomFlow, randomInput, rawLayer, specErrorOf } from './helpers.js';

// Tolerances: the reference runs in float64; a round trip loses a few ulps per layer
// (1e-10 leaves ample room), and a central-difference Jacobian with eps = 1e-5 has
// truncation error ~eps²·f''' ≈ 1e-10 and rounding ~1e-16/eps ≈ 1e-11 per entry.
const ROUND_TRIP = 1e-10;
const LOGDET_REL = 1e-6;
const SAME_POINT = 1e-10;

const scales = ['tanhExp', 'sigmoid'] as const;
const parities = [0, 1] as const;

const vectorCases = (['half', 'alternating'] as const).flatMap((mask) =>
  parities.flatMap((parity) => scales.map((scale) => ({ mask, parity, scale }))),
);
const imageCases = (['channel', 'checkerboard'] as const).flatMap((mask) =>
  parities.flatMap((parity) => scales.map((scale) => ({ mask, parity, scale }))),
);

function coupling(mask: string, parity: 0 | 1, scale: string, conditioner: object): LayerSpec {
  return rawLayer({ type: 'affineCoupling', mask, parity, scale, conditioner });
}

describe('affineCoupling: vectors [16]', () => {
  it.each(vectorCases)('$mask mask, parity $parity, $scale scale: inverts, log-det matches the numerical Jacobian', ({ mask, parity, scale }) => {
    const flow = randomFlow(flowSpec([16], [coupling(mask, parity, scale, { type: 'mlp', hidden: [8], activation: 'tanh' })]));
    const r = checkBijection(flow, randomInput([3, 16]));
    expect(r.roundTrip).toBeLessThan(ROUND_TRIP);
    expect(r.logDetRelErr).toBeLessThan(LOGDET_REL);
    expect(r.sampleLogDetErr).toBeLessThan(SAME_POINT);
    // The transformed half really moved the log-det away from 0 (the test has teeth).
    expect(Math.abs(r.logDet)).toBeGreaterThan(0.05);
  });
});

describe('affineCoupling: images [4, 2, 2] and [1, 4, 4]', () => {
  it.each(imageCases)('$mask mask, parity $parity, $scale scale, cnn conditioner', ({ mask, parity, scale }) => {
    const flow = randomFlow(flowSpec([4, 2, 2], [coupling(mask, parity, scale, { type: 'cnn', hidden: 8 })]));
    const r = checkBijection(flow, randomInput([2, 4, 2, 2]));
    expect(r.roundTrip).toBeLessThan(ROUND_TRIP);
    expect(r.logDetRelErr).toBeLessThan(LOGDET_REL);
    expect(r.sampleLogDetErr).toBeLessThan(SAME_POINT);
    expect(Math.abs(r.logDet)).toBeGreaterThan(0.05);
  });

  it.each(parities)('checkerboard on one channel [1, 4, 4], parity %i, mlp conditioner', (parity) => {
    const flow = randomFlow(flowSpec([1, 4, 4], [coupling('checkerboard', parity, 'tanhExp', { type: 'mlp', hidden: [8] })]));
    const r = checkBijection(flow, randomInput([2, 1, 4, 4]));
    expect(r.roundTrip).toBeLessThan(ROUND_TRIP);
    expect(r.logDetRelErr).toBeLessThan(LOGDET_REL);
    expect(r.sampleLogDetErr).toBeLessThan(SAME_POINT);
  });

  it('checkerboard leaves the conditioning pixels exactly unchanged', () => {
    const flow = randomFlow(flowSpec([2, 4, 4], [coupling('checkerboard', 1, 'sigmoid', { type: 'cnn', hidden: 4 })]));
    const x = randomInput([1, 2, 4, 4]);
    const z = encode(flow, x).z.data;
    let changed = 0;
    for (let c = 0; c < 2; c++) {
      for (let h = 0; h < 4; h++) {
        for (let w = 0; w < 4; w++) {
          const k = (c * 4 + h) * 4 + w;
          // parity 1: (h + w) odd is the conditioning half.
          if ((h + w) % 2 === 1) expect(z[k]).toBe(x.data[k]);
          else if (Math.abs(z[k]! - x.data[k]!) > 1e-3) changed++;
        }
      }
    }
    expect(changed).toBe(16);
  });

  it('a stack of both masks and parities (channel, checkerboard, mlp on images) inverts as a whole', () => {
    const flow = randomFlow(
      flowSpec([4, 2, 2], [
        coupling('checkerboard', 0, 'sigmoid', { type: 'cnn', hidden: 8 }),
        coupling('checkerboard', 1, 'tanhExp', { type: 'cnn', hidden: 8 }),
        coupling('channel', 0, 'tanhExp', { type: 'mlp', hidden: [8], activation: 'tanh' }),
        coupling('channel', 1, 'sigmoid', { type: 'cnn', hidden: 8 }),
      ]),
    );
    const r = checkBijection(flow, randomInput([2, 4, 2, 2]));
    expect(r.roundTrip).toBeLessThan(ROUND_TRIP);
    expect(r.logDetRelErr).toBeLessThan(LOGDET_REL);
    expect(r.sampleLogDetErr).toBeLessThan(SAME_POINT);
  });
});

describe('affineCoupling: at initialisation', () => {
  it('tanhExp with a zero-initialised conditioner is the identity', () => {
    const flow = createFlow(flowSpec([16], [coupling('half', 0, 'tanhExp', { type: 'mlp', hidden: [8] })]), { seed: 3 });
    expect(Array.from(flow.params['layers.0.scaleFactor']!.data)).toEqual(new Array(8).fill(1));
    const x = randomInput([2, 16]);
    const { z, logDet } = encode(flow, x);
    expect(Array.from(z.data)).toEqual(Array.from(x.data));
    expect(Array.from(logDet.data)).toEqual([0, 0]);
  });

  it('sigmoid scales the transformed half by σ(2) (Glow), log-det D_b·log σ(2)', () => {
    const flow = createFlow(flowSpec([16], [coupling('alternating', 1, 'sigmoid', { type: 'mlp', hidden: [8] })]), { seed: 3 });
    const x = randomInput([1, 16]);
    const { z, logDet } = encode(flow, x);
    const s2 = 1 / (1 + Math.exp(-2));
    for (let i = 0; i < 16; i++) expect(z.data[i]).toBeCloseTo(i % 2 === 1 ? x.data[i]! : x.data[i]! * s2, 12);
    expect(logDet.data[0]).toBeCloseTo(8 * Math.log(s2), 12);
  });
});

describe('affineCoupling: spec errors name the path', () => {
  it('rejects a checkerboard mask on a vector', () => {
    const e = specErrorOf(() => createFlow(flowSpec([16], [coupling('checkerboard', 0, 'tanhExp', { type: 'mlp' })])));
    expect(e.path).toBe('spec.layers[0].mask');
  });

  it('rejects a channel mask on a 1-channel image', () => {
    const e = specErrorOf(() => createFlow(flowSpec([1, 4, 4], [coupling('channel', 0, 'sigmoid', { type: 'cnn' })])));
    expect(e.path).toBe('spec.layers[0].mask');
    expect(e.message).toContain('[1, 4, 4]');
  });

  it('rejects an unknown scale function and an unknown field', () => {
    expect(specErrorOf(() => createFlow(flowSpec([4], [coupling('half', 0, 'exp', { type: 'mlp' })]))).path).toBe('spec.layers[0].scale');
    expect(specErrorOf(() => createFlow(flowSpec([4], [rawLayer({ type: 'affineCoupling', clamp: 2 })]))).path).toBe('spec.layers[0].clamp');
  });
});

describe('affineCoupling: sigmoid scale with a floor', () => {
  const floored = (floor?: number) => ({ ...coupling('half', 0, 'sigmoid', { type: 'mlp', hidden: [8], activation: 'tanh' }), ...(floor !== undefined ? { scaleFloor: floor } : {}) });

  it('stays an exact bijection: inverts, log-det matches the numerical Jacobian', () => {
    const r = checkBijection(randomFlow(flowSpec([16], [floored(0.3)])), randomInput([3, 16]));
    expect(r.roundTrip).toBeLessThan(ROUND_TRIP);
    expect(r.logDetRelErr).toBeLessThan(LOGDET_REL);
    expect(r.sampleLogDetErr).toBeLessThan(SAME_POINT);
  });

  it('bounds the scale below by the floor however large the conditioner grows (without it the scale reaches ~0)', () => {
    const logDets = [undefined, 0.3].map((floor) => {
      const flow = randomFlow(flowSpec([16], [floored(floor)]));
      for (const p of Object.values(flow.params)) for (let i = 0; i < p.data.length; i++) p.data[i] = p.data[i]! * 200;
      return checkBijection(flow, randomInput([3, 16])).logDet;
    });
    // 8 transformed features, each log σ >= log 0.3.
    expect(logDets[1]!).toBeGreaterThanOrEqual(8 * Math.log(0.3) - 1e-9);
    expect(logDets[0]!).toBeLessThan(8 * Math.log(0.3) - 10);
  });

  it('refuses a floor outside (0, 1) or on the tanhExp scale', () => {
    expect(specErrorOf(() => createFlow(flowSpec([4], [floored(1)]))).message).toMatch(/scaleFloor: must lie strictly between 0 and 1, got 1/);
    expect(specErrorOf(() => createFlow(flowSpec([4], [floored(0)]))).message).toMatch(/scaleFloor: must lie strictly between 0 and 1, got 0/);
    expect(specErrorOf(() => createFlow(flowSpec([4], [rawLayer({ ...coupling('half', 0, 'tanhExp', { type: 'mlp', hidden: [4] }), scaleFloor: 0.2 })]))).message).toMatch(/only the 'sigmoid' scale has a floor/);
  });
});
