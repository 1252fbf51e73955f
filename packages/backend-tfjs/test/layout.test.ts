import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, Rng, runGraph } from '@bijective/core';
import { GraphProgram, useEngine } from '../src/index.js';

/**
 * The runner keeps convolution stacks channels-last (`layout.ts`): a Glow conditioner
 * (conv → bias → ReLU → conv → bias → ReLU → conv → bias) transposes its activations once
 * in and once out, not around every convolution, and computes what the reference computes.
 */
function conditioner() {
  const g = new GraphBuilder();
  const x = g.input('x', ['N', 3, 6, 5]);
  const bias = (name: string, c: number) => g.reshape(g.param(name, [c]), [c, 1, 1]);
  let h = g.relu(g.add(g.conv2d(x, g.param('w0', [8, 3, 3, 3]), [1, 1, 1, 1]), bias('b0', 8)));
  h = g.relu(g.add(g.conv2d(h, g.param('w1', [8, 8, 1, 1]), [0, 0, 0, 0]), bias('b1', 8)));
  const out = g.add(g.conv2d(h, g.param('w2', [4, 8, 3, 3]), [1, 1, 1, 1]), bias('b2', 4));
  g.output('y', g.mul(out, g.scalar(0.5)));
  return g.build();
}

describe('channels-last convolution stacks', () => {
  const graph = conditioner();
  const rng = new Rng(3);
  const shapes: Record<string, number[]> = { w0: [8, 3, 3, 3], b0: [8], w1: [8, 8, 1, 1], b1: [8], w2: [4, 8, 3, 3], b2: [4] };
  const params = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, { data: Float64Array.from(rng.normals(s.reduce((a, b) => a * b, 1), 0.5)), shape: s }]));
  const x = { data: Float64Array.from(rng.normals(2 * 3 * 6 * 5)), shape: [2, 3, 6, 5] };

  for (const engine of ['tfjs-cpu', 'tfjs-wasm']) {
    it(`${engine}: two activation transposes for three convolutions, same values as the reference`, async () => {
      await (await useEngine(engine)).activate();
      const program = new GraphProgram(graph);
      const ps = Object.fromEntries(Object.entries(params).map(([k, p]) => [k, tf.tensor(Float32Array.from(p.data), p.shape)]));
      const xt = tf.tensor(Float32Array.from(x.data), x.shape);
      program.run({ x: xt }, ps, undefined, { release: true }).y!.dispose(); // uploads the program's constants
      const before = tf.memory().numTensors;
      let y: tf.Tensor | undefined;
      const info = await tf.profile(() => {
        y = program.run({ x: xt }, ps, undefined, { release: true }).y!;
        return y;
      });
      const transposes = info.kernels.filter((k) => k.name === 'Transpose');
      // Rank-4 activations: NCHW → NHWC into the first convolution, NHWC → NCHW out of the stack.
      // The other three are the filters, OIHW → HWIO.
      const activations = transposes.filter((k) => k.inputShapes[0]![0] === 2);
      expect(activations.map((k) => k.inputShapes[0])).toEqual([[2, 3, 6, 5], [2, 6, 5, 4]]);
      expect(transposes).toHaveLength(5);
      const want = runGraph(graph, { params, inputs: { x }, batch: 2 }).y!;
      const got = await y!.data();
      expect(y!.shape).toEqual([2, 4, 6, 5]);
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - want.data[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(want.data[i]!)));
      y!.dispose();
      // With release, nothing but the output outlives the run.
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([xt, ...Object.values(ps)]);
      program.dispose();
    });
  }
});

/**
 * A filter gradient whose operands exist only channels-last (a conv's output and a value
 * derived from one) reads the twins directly: no activation goes back to NCHW, and the result
 * is the reference's.
 */
describe('conv2dWeightGrad of channels-last twins', () => {
  const g = new GraphBuilder();
  const x = g.input('x', ['N', 2, 5, 4]);
  const h = g.relu(g.conv2d(x, g.param('w', [3, 2, 3, 3]), [1, 1, 1, 1]));
  const dy = g.tanh(g.conv2d(h, g.param('v', [4, 3, 1, 2]), [0, 0, 0, 1]));
  g.output('y', g.conv2dWeightGrad(h, dy, [0, 0, 0, 1], [1, 2]));
  const graph = g.build();
  const rng = new Rng(4);
  const params = { w: { data: Float64Array.from(rng.normals(54, 0.5)), shape: [3, 2, 3, 3] }, v: { data: Float64Array.from(rng.normals(24, 0.5)), shape: [4, 3, 1, 2] } };
  const xv = { data: Float64Array.from(rng.normals(5 * 2 * 5 * 4)), shape: [5, 2, 5, 4] };

  for (const engine of ['tfjs-cpu', 'tfjs-wasm']) {
    it(`${engine}: no NHWC → NCHW transpose of an activation, same values as the reference`, async () => {
      await (await useEngine(engine)).activate();
      const program = new GraphProgram(graph);
      const ps = Object.fromEntries(Object.entries(params).map(([k, p]) => [k, tf.tensor(Float32Array.from(p.data), p.shape)]));
      const xt = tf.tensor(Float32Array.from(xv.data), xv.shape);
      let y: tf.Tensor | undefined;
      const info = await tf.profile(() => {
        y = program.run({ x: xt }, ps, undefined, { release: true }).y!;
        return y;
      });
      // NCHW → NHWC of x, the filters OIHW → HWIO, then one transpose per operand into the
      // filter-gradient conv (from [5, 5, 4, 3] and [5, 5, 4, 4], channels-last; batch 5) and its result.
      const fromTwins = info.kernels.filter((k) => k.name === 'Transpose' && k.inputShapes[0]![0] === 5);
      expect(fromTwins.map((k) => k.inputShapes[0])).toEqual([[5, 2, 5, 4], [5, 5, 4, 3], [5, 5, 4, 4]]);
      const want = runGraph(graph, { params, inputs: { x: xv }, batch: 5 }).y!;
      const got = await y!.data();
      expect(y!.shape).toEqual([4, 3, 1, 2]);
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - want.data[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(want.data[i]!)));
      tf.dispose([y!, xt, ...Object.values(ps)]);
      program.dispose();
    });
  }
});
