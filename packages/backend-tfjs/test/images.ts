import { Rng } from '@bijective/core';

/**
 * Small synthetic 8-bit images `[n, 1, size, size]`: a bright axis-aligned rectangle at a
 * random place on a dark background, with pixel noise — structure a flow can learn in a
 * few dozen steps.
 */
export function rectangles(n: number, size: number, seed: number): { data: Uint8Array; shape: number[] } {
  const rng = new Rng(seed);
  const data = new Uint8Array(n * size * size);
  for (let k = 0; k < n; k++) {
    const w = 2 + rng.int(size - 3);
    const h = 2 + rng.int(size - 3);
    const x0 = rng.int(size - w + 1);
    const y0 = rng.int(size - h + 1);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = x >= x0 && x < x0 + w && y >= y0 && y < y0 + h;
        const v = (inside ? 200 : 30) + 12 * rng.normal();
        data[k * size * size + y * size + x] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return { data, shape: [n, 1, size, size] };
}
