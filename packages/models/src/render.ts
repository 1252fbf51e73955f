import { encode } from 'fast-png';

/**
 * Pictures of flows: grids and strips of images, and density heat maps, as PNG bytes
 * (fast-png: pure JavaScript, so this module runs in browsers as well as Node). Pixel values: model outputs on the [0, 1) scale map to bytes as
 * `clamp(⌊256·x⌋, 0, 255)`, the inverse of dequantisation `x = (k + u)/256`.
 */

/** Encodes an RGBA buffer `[height, width, 4]` as PNG. */
export function encodePng(width: number, height: number, rgba: Uint8Array): Uint8Array {
  if (rgba.length !== width * height * 4) throw new RangeError(`encodePng: ${width}×${height} RGBA needs ${width * height * 4} bytes, got ${rgba.length}`);
  return encode({ width, height, data: rgba, channels: 4, depth: 8 });
}

export function toByte(x: number): number {
  if (!Number.isFinite(x)) return x > 0 ? 255 : 0;
  return Math.min(255, Math.max(0, Math.floor(256 * x)));
}

/**
 * Lays `n` images `[n, C, H, W]` (C = 1: grey, C = 3: RGB) out on a grid of `columns`
 * (default ⌈√n⌉) with a `gap`-pixel border, scaled up by `zoom`, as PNG.
 */
export function imageGrid(data: ArrayLike<number>, shape: readonly [number, number, number, number], options: { columns?: number; gap?: number; zoom?: number } = {}): Uint8Array {
  const [n, c, h, w] = shape;
  if (c !== 1 && c !== 3) throw new RangeError(`imageGrid: images need 1 or 3 channels, got ${c}`);
  const columns = Math.max(1, Math.min(n, options.columns ?? Math.ceil(Math.sqrt(n))));
  const rows = Math.ceil(n / columns);
  const gap = options.gap ?? 1;
  const zoom = options.zoom ?? 2;
  const width = columns * (w * zoom + gap) + gap;
  const height = rows * (h * zoom + gap) + gap;
  const rgba = new Uint8Array(width * height * 4);
  // Border: mid grey, so black and white images both stand out.
  for (let i = 0; i < width * height; i++) rgba.set([96, 96, 96, 255], 4 * i);
  for (let k = 0; k < n; k++) {
    const ox = gap + (k % columns) * (w * zoom + gap);
    const oy = gap + Math.floor(k / columns) * (h * zoom + gap);
    for (let y = 0; y < h * zoom; y++) {
      for (let x = 0; x < w * zoom; x++) {
        const sy = Math.floor(y / zoom);
        const sx = Math.floor(x / zoom);
        const at = 4 * ((oy + y) * width + ox + x);
        for (let ch = 0; ch < 3; ch++) rgba[at + ch] = toByte(data[((k * c + (c === 1 ? 0 : ch)) * h + sy) * w + sx]!);
        rgba[at + 3] = 255;
      }
    }
  }
  return encodePng(width, height, rgba);
}

/** Viridis (matplotlib's perceptually uniform map), 9 stops, linearly interpolated. */
const VIRIDIS: readonly [number, number, number][] = [
  [68, 1, 84],
  [71, 45, 123],
  [59, 82, 139],
  [44, 114, 142],
  [33, 145, 140],
  [40, 174, 128],
  [94, 201, 98],
  [173, 220, 48],
  [253, 231, 37],
];

/** The colour of `t` ∈ [0, 1] (clamped). */
export function viridis(t: number): [number, number, number] {
  const u = Math.min(1, Math.max(0, Number.isNaN(t) ? 0 : t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + f * (b[k]! - a[k]!))) as [number, number, number];
}

/**
 * A heat map of `values` `[height, width]` (row 0 at the top) through viridis, scaled so the
 * largest value is the brightest and 0 the darkest (densities: pass exp(log p)).
 */
export function heatmap(values: ArrayLike<number>, width: number, height: number): Uint8Array {
  let max = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!) && values[i]! > max) max = values[i]!;
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = viridis(max > 0 ? values[i]! / max : 0);
    rgba.set([r, g, b, 255], 4 * i);
  }
  return encodePng(width, height, rgba);
}
