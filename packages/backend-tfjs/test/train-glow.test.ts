import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { bitsPerDim, createFlow, type FlowSpec, type LayerSpec } from '@bijective/core';
import { tfjsRuntime, train, type TrainProgress } from '../src/index.js';
import { rectangles } from './images.js';

/** Glow steps: ActNorm → invertible 1×1 conv (LU) → affine coupling with a CNN conditioner. */
function glowSteps(k: number, hidden: number): LayerSpec[] {
  return Array.from({ length: k }, (_, i): LayerSpec[] => [
    { type: 'actNorm' },
    { type: 'invConv1x1', variant: 'lu' },
    { type: 'affineCoupling', mask: 'channel', parity: i % 2 === 0 ? 0 : 1, conditioner: { type: 'cnn', hidden }, scale: 'sigmoid' },
  ]).flat();
}

const glow: FlowSpec = {
  version: 1,
  event: [1, 8, 8],
  layers: [{ type: 'squeeze' }, ...glowSteps(2, 16), { type: 'split', prior: 'conditional' }, { type: 'squeeze' }, ...glowSteps(2, 16)],
};

async function testBitsPerDim(flow: ReturnType<typeof createFlow>, images: { data: Uint8Array; shape: number[] }): Promise<number> {
  // Fixed mid-bin dequantisation (k + ½) / 256 for a deterministic evaluation.
  const x = { data: Float32Array.from(images.data, (v) => (v + 0.5) / 256), shape: images.shape };
  const rt = await tfjsRuntime(flow, { engine: 'tfjs-wasm' });
  const lp = await rt.logProb(x);
  await rt.dispose();
  return bitsPerDim(-Array.from(lp).reduce((a, b) => a + b, 0) / lp.length, 64);
}

describe('Glow on small images, tfjs-wasm', () => {
  it('lowers bits/dim in a short run, initialises ActNorm from data, and leaks no tensors', async () => {
    const flow = createFlow(glow, { seed: 2 });
    const data = rectangles(512, 8, 1);
    const heldOut = rectangles(128, 8, 2);
    const before = await testBitsPerDim(flow, heldOut);
    const tensorsBefore = tf.memory().numTensors;
    const events: TrainProgress[] = [];
    const result = await train(flow, data, {
      engine: 'tfjs-wasm',
      steps: 40,
      batchSize: 32,
      lr: 2e-3,
      warmupSteps: 5,
      dequantize: { bins: 256 },
      clipGradNorm: 50,
      seed: 4,
      onStep: (p) => void events.push(p),
    });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const init = events.find((e) => e.kind === 'init');
    expect(init && init.kind === 'init' && init.params.filter((p) => p.endsWith('.initialized'))).toHaveLength(4);
    for (const [name, p] of Object.entries(flow.params)) if (name.endsWith('.initialized')) expect(p.data[0], name).toBe(1);
    const steps = events.filter((e): e is Extract<TrainProgress, { kind: 'step' }> => e.kind === 'step');
    expect(steps).toHaveLength(40);
    expect(steps[0]!.metric.name).toBe('bitsPerDim');
    const after = await testBitsPerDim(flow, heldOut);
    const first = steps.slice(0, 5).reduce((s, e) => s + e.metric.value, 0) / 5;
    const last = steps.slice(-5).reduce((s, e) => s + e.metric.value, 0) / 5;
    const rate = steps.slice(-10).reduce((s, e) => s + e.examplesPerSecond, 0) / 10;
    console.log(`Glow 1x8x8: held-out bits/dim ${before.toFixed(3)} -> ${after.toFixed(3)}; training ${first.toFixed(3)} -> ${last.toFixed(3)}; ${rate.toFixed(0)} images/s`);
    expect(result.rejected).toBe(0);
    expect(last).toBeLessThan(first - 0.5);
    expect(after).toBeLessThan(before - 0.5);
  });
});
