/**
 * 8-bit image datasets held as bytes: `[N, C, H, W]` row-major `Uint8Array`, values 0..255.
 * Dequantisation to [0, 1) happens per batch (see `batches.ts`), so each epoch sees fresh noise.
 */
export interface ImageSet {
  /** `[C, H, W]`. */
  shape: [number, number, number];
  count: number;
  data: Uint8Array;
}

export function imageSet(shape: [number, number, number], data: Uint8Array): ImageSet {
  const size = shape[0] * shape[1] * shape[2];
  if (data.length % size !== 0) throw new RangeError(`imageSet: ${data.length} bytes is not a whole number of [${shape.join(', ')}] images`);
  return { shape, count: data.length / size, data };
}
