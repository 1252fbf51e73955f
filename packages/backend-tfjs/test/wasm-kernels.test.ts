import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Rng } from '@bijective/core';
import { useEngine } from '../src/index.js';

/**
 * The kernels this package adds to (or replaces in) the wasm backend, each against the cpu
 * backend's kernel on the same inputs. Both are float32 with different summation orders:
 * entries agree to 1e-5 of the largest magnitude of the result (sums of ≤ 2·10⁴ products).
 */
function random(shape: number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from(new Rng(seed).normals(n));
}

type Inputs = Record<string, { data: Float32Array | Int32Array; shape: number[]; dtype?: 'float32' | 'int32' }>;

async function runOn(backend: 'cpu' | 'wasm', kernel: string, inputs: Inputs, attrs: Record<string, unknown>) {
  await (await useEngine(backend === 'cpu' ? 'tfjs-cpu' : 'tfjs-wasm')).activate();
  const ts = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.data, v.shape, v.dtype ?? 'float32')]));
  const out = tf.engine().runKernel(kernel, ts, attrs as tf.NamedAttrMap) as tf.Tensor;
  const result = { data: (await out.data()) as Float32Array, shape: out.shape };
  tf.dispose([out, ...Object.values(ts)]);
  return result;
}

async function compare(kernel: string, inputs: Inputs, attrs: Record<string, unknown>) {
  const before = tf.memory().numTensors;
  const cpu = await runOn('cpu', kernel, inputs, attrs);
  const wasm = await runOn('wasm', kernel, inputs, attrs);
  expect(wasm.shape).toEqual(cpu.shape);
  const scale = cpu.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expect(scale).toBeGreaterThan(0);
  let worst = 0;
  for (let i = 0; i < cpu.data.length; i++) worst = Math.max(worst, Math.abs(wasm.data[i]! - cpu.data[i]!));
  expect(worst / scale, `${kernel}: worst |wasm − cpu| ${worst} of scale ${scale}`).toBeLessThan(1e-5);
  expect(tf.memory().numTensors).toBe(before);
}

const explicit = (t: number, b: number, l: number, r: number) => [[0, 0], [t, b], [l, r], [0, 0]];

describe('wasm training kernels agree with the cpu backend', () => {
  const convCases = [
    { name: '3x3 same', x: [4, 9, 7, 5], f: [3, 3, 5, 6], pad: 'same' },
    { name: '1x1 valid', x: [3, 6, 6, 8], f: [1, 1, 8, 4], pad: 'valid' },
    { name: '2x3 explicit asymmetric', x: [2, 5, 6, 3], f: [2, 3, 3, 4], pad: explicit(0, 1, 1, 2) },
    { name: 'larger 3x3', x: [8, 14, 14, 16], f: [3, 3, 16, 8], pad: explicit(1, 1, 1, 1) },
    { name: '3x3, few input channels (per-offset matmuls)', x: [4, 7, 6, 2], f: [3, 3, 2, 16], pad: explicit(1, 1, 1, 1) },
    { name: '1x1 as one matmul', x: [4, 5, 5, 12], f: [1, 1, 12, 10], pad: 'valid' },
  ];
  for (const c of convCases) {
    const info = tf.backend_util.computeConv2DInfo(c.x as never, c.f as never, 1, 1, c.pad as never, undefined, false, 'channelsLast');
    const dy = { data: random(info.outShape, 3), shape: info.outShape };
    it(`Conv2DBackpropFilter, ${c.name}`, () =>
      compare(tf.Conv2DBackpropFilter, { x: { data: random(c.x, 1), shape: c.x }, dy }, { strides: 1, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f }));
    it(`Conv2DBackpropInput, ${c.name}`, () =>
      compare(tf.Conv2DBackpropInput, { dy, filter: { data: random(c.f, 2), shape: c.f } }, { strides: 1, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x }));
  }

  const mm = [
    { a: [300, 64], b: [64, 48], ta: false, tb: false },
    { a: [64, 300], b: [64, 48], ta: true, tb: false },
    { a: [300, 64], b: [48, 64], ta: false, tb: true },
    { a: [64, 300], b: [48, 64], ta: true, tb: true },
    { a: [3, 40, 50], b: [3, 40, 60], ta: true, tb: false },
    { a: [5, 7], b: [6, 7], ta: false, tb: true },
  ];
  for (const c of mm) {
    it(`BatchMatMul ${c.a.join('x')}${c.ta ? 'ᵀ' : ''} · ${c.b.join('x')}${c.tb ? 'ᵀ' : ''}`, () =>
      compare(tf.BatchMatMul, { a: { data: random(c.a, 4), shape: c.a }, b: { data: random(c.b, 5), shape: c.b } }, { transposeA: c.ta, transposeB: c.tb }));
  }

  it('UnsortedSegmentSum, permutation ids (gather gradient of a reordering)', () => {
    const ids = Int32Array.from(new Rng(6).permutation(7));
    return compare(tf.UnsortedSegmentSum, { x: { data: random([7, 3, 2], 7), shape: [7, 3, 2] }, segmentIds: { data: ids, shape: [7], dtype: 'int32' } }, { numSegments: 7 });
  });
  it('UnsortedSegmentSum, repeated and out-of-range ids', () =>
    compare(
      tf.UnsortedSegmentSum,
      { x: { data: random([6, 4], 8), shape: [6, 4] }, segmentIds: { data: Int32Array.of(2, 0, 2, 5, 1, 2), shape: [6], dtype: 'int32' } },
      { numSegments: 4 },
    ));

  const sums = [
    { name: 'leading axes of an NHWC activation (bias gradient)', shape: [6, 5, 4, 7], axis: [0, 1, 2], keepDims: false },
    { name: 'leading axes, keepDims', shape: [6, 5, 4, 7], axis: [1, 0], keepDims: true },
    { name: 'the first axis of a matrix', shape: [300, 9], axis: 0, keepDims: false },
    { name: 'trailing axes (the backend kernel)', shape: [6, 5, 4, 7], axis: [1, 2, 3], keepDims: false },
    { name: 'middle axes (the backend kernel)', shape: [6, 5, 4, 7], axis: [0, 2], keepDims: true },
  ];
  for (const c of sums) {
    it(`Sum over ${c.name}`, () => compare(tf.Sum, { x: { data: random(c.shape, 9), shape: c.shape } }, { axis: c.axis, keepDims: c.keepDims }));
  }
});
