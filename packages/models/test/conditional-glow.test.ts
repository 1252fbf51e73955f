import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASSES, loadFashionMnist, loadFashionMnistLabels, shippedCheckpoint } from '../src/node.js';
import { openRuntime } from '../src/engines.js';

/**
 * The shipped class-conditional Glow (`glow-fmnist-cond-small`, 30 minutes on tfjs-wasm) without
 * a classifier: the mean image of its samples of class k correlates best (Pearson, over pixels:
 * a temperature below 1 dims samples, so brightness is factored out) with the mean of the real
 * class-k test images, for most classes (chance: one).
 * An unconditional model, or one that ignores its context, puts every class's samples at
 * the same mean and so matches at most one class.
 */
function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

describe('glow-fmnist-cond-small samples follow their class', () => {
  it('the sample mean of class k is nearest the real class-k mean for at least 8 of 10 classes (10 of 10 when shipped)', async () => {
    const { flow } = await shippedCheckpoint('glow-fmnist-cond-small');
    const { test } = await loadFashionMnist();
    const labels = (await loadFashionMnistLabels()).test;
    const P = 784;
    const K = FASHION_MNIST_CLASSES.length;
    const real = Array.from({ length: K }, () => new Float64Array(P));
    const counts = new Array<number>(K).fill(0);
    for (let i = 0; i < test.count; i++) {
      const k = labels[i]!;
      counts[k]!++;
      for (let p = 0; p < P; p++) real[k]![p]! += test.data[i * P + p]! / 255;
    }
    for (let k = 0; k < K; k++) for (let p = 0; p < P; p++) real[k]![p]! /= counts[k]!;

    const n = 16;
    const rt = await openRuntime(flow, 'tfjs-cpu');
    const nearest: number[] = [];
    try {
      for (let k = 0; k < K; k++) {
        const context = { data: new Float64Array(n * K), shape: [n, K] };
        for (let i = 0; i < n; i++) context.data[i * K + k] = 1;
        const x = await rt.sample({ n, seed: 100 + k, temperature: 0.7, context });
        expect(x.data.every(Number.isFinite)).toBe(true);
        const mean = new Float64Array(P);
        for (let i = 0; i < n; i++) for (let p = 0; p < P; p++) mean[p]! += Math.min(1, Math.max(0, x.data[i * P + p]!)) / n;
        const corr = real.map((r) => pearson(r, mean));
        nearest.push(corr.indexOf(Math.max(...corr)));
      }
    } finally {
      await rt.dispose();
    }
    const hits = nearest.filter((j, k) => j === k).length;
    expect(hits, `nearest real class per sampled class: ${nearest.join(', ')}`).toBeGreaterThanOrEqual(8);
  }, 120_000);
});
