import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { InputError, createFlow, referenceRuntime, type FlowSpec } from '@bijective/core';
import { tfjsRuntime } from '../src/index.js';
import { batch, perturbedFlow } from './helpers.js';

const glowish: FlowSpec = {
  version: 1,
  event: [2, 4, 4],
  layers: [
    { type: 'actNorm' },
    { type: 'invConv1x1', variant: 'plain' },
    { type: 'affineCoupling', mask: 'checkerboard', parity: 0, conditioner: { type: 'cnn', hidden: 8 }, scale: 'sigmoid' },
    { type: 'squeeze' },
    { type: 'invConv1x1', variant: 'lu' },
    { type: 'split', prior: 'conditional' },
    { type: 'affineCoupling', mask: 'channel', parity: 1, conditioner: { type: 'cnn', hidden: 8 } },
  ],
};
const iaf: FlowSpec = { version: 1, event: [5], layers: [{ type: 'iaf', hidden: [8] }, { type: 'permute', kind: 'reverse' }, { type: 'iaf', hidden: [8] }] };

for (const engine of ['tfjs-cpu', 'tfjs-wasm']) {
  describe(`tfjsRuntime on ${engine}`, () => {
    it('keeps tf.memory().numTensors stable over repeated calls of every method', async () => {
      for (const spec of [glowish, iaf]) {
        const flow = perturbedFlow(spec);
        const rt = await tfjsRuntime(flow, { engine });
        const x = batch(spec.event, 3);
        const round = async () => {
          await rt.logProb(x);
          const { z } = await rt.encode(x);
          await rt.decode(z);
          await rt.sample({ n: 2, seed: 1 });
        };
        await round(); // first call uploads constants (kept for the runtime's life)
        const after1 = tf.memory().numTensors;
        for (let i = 0; i < 3; i++) await round();
        expect(tf.memory().numTensors).toBe(after1);
        const before = after1;
        await rt.dispose();
        expect(tf.memory().numTensors).toBeLessThan(before);
      }
    });

    it('follows changes to flow.params (training updates show up)', async () => {
      const flow = perturbedFlow(iaf);
      const rt = await tfjsRuntime(flow, { engine });
      const x = batch([5], 2);
      const lp1 = await rt.logProb(x);
      flow.params['layers.0.made.w0']!.data[3]! += 0.5;
      const lp2 = await rt.logProb(x);
      const ref = await referenceRuntime(flow).logProb(x);
      expect(lp2[0]).not.toBeCloseTo(lp1[0]!, 3);
      for (let i = 0; i < 2; i++) expect(lp2[i]).toBeCloseTo(ref[i]!, 3);
      await rt.dispose();
    });

    it('checks inputs at the edge and refuses use after dispose', async () => {
      const rt = await tfjsRuntime(createFlow(iaf, { seed: 1 }), { engine });
      expect(rt.engine).toBe(engine);
      await expect(rt.logProb({ data: new Float32Array(4), shape: [1, 4] })).rejects.toThrow(InputError);
      await expect(rt.decode({ data: new Float32Array(5), shape: [5] })).rejects.toThrow(/expected \[N, 5\]/);
      await expect(rt.sample({ n: 0 })).rejects.toThrow(/positive integer/);
      await rt.dispose();
      await expect(rt.logProb({ data: new Float32Array(5), shape: [1, 5] })).rejects.toThrow(/was disposed; open a new one/);
    });
  });
}
