import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { PRIMITIVES, Rng, runGraph, sizeOf, type RefTensor } from '@bijective/core';
import { primitiveCases } from '@bijective/core/testing';
import { GraphProgram, useEngine } from '../src/index.js';

/**
 * The gradients this package registers for tfjs kernels, checked primitive by primitive:
 * for each conformance case, L = Σ w ⊙ y with fixed random weights w; tfjs' ∂L/∂(every
 * input and parameter) against central differences of the float64 reference (h = 1e-6),
 * on every entry, to 1e-3 of the largest gradient of that tensor (float32 gradients carry
 * ~1e-6 relative error; the bound leaves room for sums over a few hundred terms).
 */
const H = 1e-6;

function weights(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => rng.normal());
}

for (const engine of ['tfjs-cpu', 'tfjs-wasm']) {
  describe(`primitive gradients: ${engine}`, () => {
    const cases = primitiveCases();
    it('cover every differentiable primitive', () => {
      const covered = new Set(cases.flatMap((c) => c.covers));
      const nonDifferentiable = new Set(['input', 'param', 'constant', 'less', 'greaterEqual']);
      for (const p of PRIMITIVES) if (!nonDifferentiable.has(p)) expect(covered.has(p), p).toBe(true);
    });
    for (const c of cases) {
      it(c.name, async () => {
        await (await useEngine(engine)).activate();
        const batch = Object.values(c.inputs)[0]!.shape[0]!;
        const refIn = (over: Record<string, Float64Array> = {}) => ({
          params: Object.fromEntries(Object.entries(c.params).map(([k, p]) => [k, { data: over[k] ?? Float64Array.from(p.data), shape: p.shape }])) as Record<string, RefTensor>,
          inputs: Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, { data: over[k] ?? Float64Array.from(t.data), shape: t.shape }])) as Record<string, RefTensor>,
          batch,
        });
        const y = runGraph(c.graph, refIn()).y!;
        const w = weights(y.data.length, 3);
        const refLoss = (over: Record<string, Float64Array>) => runGraph(c.graph, refIn(over)).y!.data.reduce((s, v, i) => s + v * w[i]!, 0);

        const program = new GraphProgram(c.graph);
        const names = [...Object.keys(c.inputs), ...Object.keys(c.params)];
        const values = names.map((k) => (c.inputs[k] ?? c.params[k])!);
        const tensors = values.map((t) => tf.tensor(Float32Array.from(t.data), t.shape));
        const byName = Object.fromEntries(names.map((k, i) => [k, tensors[i]!]));
        const prepared = await program.prepare(Object.fromEntries(Object.keys(c.params).map((k) => [k, byName[k]!])));
        const wt = tf.tensor(Float32Array.from(w), y.shape as number[]);
        const grads = tf.grads((...xs: tf.Tensor[]) => {
          const named = Object.fromEntries(names.map((k, i) => [k, xs[i]!]));
          const inputs = Object.fromEntries(Object.keys(c.inputs).map((k) => [k, named[k]!]));
          const params = Object.fromEntries(Object.keys(c.params).map((k) => [k, named[k]!]));
          return tf.sum(tf.mul(program.run(inputs, params, prepared).y!, wt));
        })(tensors);
        const g = await Promise.all(grads.map(async (t) => (await t.data()) as Float32Array));
        tf.dispose([...grads, ...tensors, wt]);
        program.dispose();

        names.forEach((name, k) => {
          const base = Float64Array.from(values[k]!.data);
          const gmax = g[k]!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          expect(g[k]!.length).toBe(sizeOf(values[k]!.shape));
          for (let i = 0; i < base.length; i++) {
            const up = Float64Array.from(base);
            const down = Float64Array.from(base);
            up[i]! += H;
            down[i]! -= H;
            const fd = (refLoss({ [name]: up }) - refLoss({ [name]: down })) / (2 * H);
            expect(Math.abs(g[k]![i]! - fd), `${name}[${i}]: tfjs ${g[k]![i]}, finite differences ${fd}`).toBeLessThanOrEqual(1e-3 * Math.max(gmax, 1e-3));
          }
        });
      });
    }
  });
}
