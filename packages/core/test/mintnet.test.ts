import { describe, expect, it } from 'vitest';
import { Rng, createFlow, runReference, traceFlow, type Flow, type LayerSpec } from '../src/index.js';
import { mintMasks } from '../src/layers/mintnet.js';
import { decode, encode, flowSpec, integrateDensity2d, maxAbsDiff, sinhLine, slogdet, specErrorOf } from './helpers.js';

const mint = (extra: Record<string, unknown> = {}): LayerSpec => ({ type: 'mintBlock', hidden: 2, ...extra });

/**
 * Parameters at two scales: `init` perturbs the data-free init by N(0, 0.05²) (close to
 * t ⊙ x); `trained` draws free taps N(0, 0.5²), centre-diagonal log-taps, biases and logT
 * N(0, 0.3²), so the residual branch is as large as t ⊙ x.
 */
function mintFlow(event: number[], layers: LayerSpec[], scale: 'init' | 'trained', seed = 1): Flow {
  const flow = createFlow(flowSpec(event, layers), { seed });
  const rng = new Rng(seed + 100);
  for (const [name, p] of Object.entries(flow.params)) {
    const local = name.split('.').pop()!;
    for (let i = 0; i < p.data.length; i++) {
      if (scale === 'init') p.data[i]! += 0.05 * rng.normal();
      else p.data[i] = local.startsWith('v') ? 0.5 * rng.normal() : 0.3 * rng.normal();
    }
  }
  return flow;
}

/** Central-difference Jacobian jac[q, r] = ∂z_q/∂x_r of one example (float64). */
function jacobian(flow: Flow, x: Float64Array, eps = 1e-5): Float64Array {
  const d = x.length;
  const batch = new Float64Array(2 * d * d);
  for (let j = 0; j < d; j++) {
    batch.set(x, 2 * j * d);
    batch.set(x, (2 * j + 1) * d);
    batch[2 * j * d + j]! += eps;
    batch[(2 * j + 1) * d + j]! -= eps;
  }
  const z = runReference(flow, traceFlow(flow, 'density'), { x: { data: batch, shape: [2 * d, ...flow.spec.event] } }).z!.data;
  const jac = new Float64Array(d * d);
  for (let j = 0; j < d; j++) for (let i = 0; i < d; i++) jac[i * d + j] = (z[2 * j * d + i]! - z[(2 * j + 1) * d + i]!) / (2 * eps);
  return jac;
}

/** Position of element (c, i, j) of [C, H, W] in the order (pixel raster, then channel). */
const rank = (idx: number, [c, h, w]: number[]) => {
  const ch = Math.floor(idx / (h! * w!));
  const p = idx % (h! * w!);
  return p * c! + ch;
};

function randomX(d: number, seed: number): Float64Array {
  return new Rng(seed).normals(d, 1) as Float64Array;
}

describe('mintBlock', () => {
  for (const scale of ['init', 'trained'] as const) {
    for (const order of ['natural', 'reverse'] as const) {
      it(`is triangular in the stated order and its log-det is the brute-force one (${scale}, ${order})`, () => {
        const event = [2, 3, 3];
        const flow = mintFlow(event, [mint({ order })], scale, 3);
        const d = 18;
        const x = Float64Array.from(randomX(d, 5));
        const jac = jacobian(flow, x);
        let above = 0;
        let diagLog = 0;
        let largest = 0;
        for (let q = 0; q < d; q++) {
          for (let r = 0; r < d; r++) {
            const later = order === 'natural' ? rank(r, event) > rank(q, event) : rank(r, event) < rank(q, event);
            if (later) above = Math.max(above, Math.abs(jac[q * d + r]!));
            else if (q !== r) largest = Math.max(largest, Math.abs(jac[q * d + r]!));
          }
          expect(jac[q * d + q]!).toBeGreaterThan(0);
          diagLog += Math.log(jac[q * d + q]!);
        }
        expect(above).toBe(0);
        // the kept part is not trivially zero
        expect(largest).toBeGreaterThan(scale === 'init' ? 1e-4 : 1e-1);
        const { logDet } = encode(flow, { data: x, shape: [1, ...event] });
        expect(Math.abs(logDet.data[0]! - diagLog)).toBeLessThan(1e-8 * Math.max(1, Math.abs(diagLog)));
        expect(Math.abs(logDet.data[0]! - slogdet(jac, d))).toBeLessThan(1e-8 * Math.max(1, Math.abs(diagLog)));
      });
    }

    it(`inverts by the fixed-point iteration to 1e-6 (${scale})`, () => {
      const event = [2, 4, 4];
      const flow = mintFlow(event, [mint(), mint({ order: 'reverse' })], scale, 7);
      const x = { data: randomX(4 * 32, 9), shape: [4, ...event] };
      const { z, logDet } = encode(flow, x);
      const back = decode(flow, z);
      expect(maxAbsDiff(back.x.data, x.data)).toBeLessThan(1e-6);
      expect(maxAbsDiff(back.logDet.data, logDet.data)).toBeLessThan(1e-6);
    });
  }

  it('integrates to 1 on a 1×1×2 event', () => {
    const flow = mintFlow([1, 1, 2], [mint(), mint({ order: 'reverse' })], 'trained', 11);
    // trained-scale weights make a sharply peaked density: 301 nodes of sinhLine(2, 6) reach only
    // 0.94, 901 nodes of sinhLine(0.5, 8) 0.99993 (measured)
    expect(Math.abs(integrateDensity2d(flow, sinhLine(0.5, 8, 901)) - 1)).toBeLessThan(1e-3);
  });

  it('stores only the centre-diagonal taps as u (one per kept entry of the diagonal mask)', () => {
    const flow = createFlow(flowSpec([3, 4, 4], [mint({ hidden: 2 })]));
    const shapes: [number, number][] = [[6, 3], [6, 6], [3, 6]];
    shapes.forEach(([co, ci], k) => {
      const kept = mintMasks(co, ci, 3, false).diag.reduce((a, b) => a + b, 0);
      const u = Object.entries(flow.params).find(([name]) => name.endsWith(`.u${k + 1}`))![1];
      expect(u.data.length).toBe(kept);
      expect(u.shape).toEqual([co, ci / 3]);
    });
  });

  it('rejects bad specs with a clear error', () => {
    const bad = (extra: Record<string, unknown>, event = [2, 4, 4]) => specErrorOf(() => createFlow(flowSpec(event, [mint(extra)]))).message;
    expect(bad({ hidden: 0 })).toMatch(/hidden.*>= 1/);
    expect(bad({ order: 'random' })).toMatch(/order.*'natural', 'reverse'/);
    expect(bad({ iterations: 2.5 })).toMatch(/iterations.*integer/);
    expect(bad({ damping: 0 })).toMatch(/damping.*> 0/);
    expect(bad({ damping: 1.5 })).toMatch(/damping.*<= 1/);
    expect(bad({}, [4])).toMatch(/image event/);
    expect(bad({ width: 3 })).toMatch(/unknown field/);
  });
});
