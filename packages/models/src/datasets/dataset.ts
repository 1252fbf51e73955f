import type { ImageSet } from './images.js';
import type { GaussianMixture2D } from './mixture.js';

/** The dataset shapes shared by the Node loaders and browser code (no Node built-ins here). */

/** Continuous vectors `[n, D]` row-major (the 2-D toys). */
export interface VectorDataset {
  kind: 'vector';
  name: string;
  dim: number;
  train: Float64Array;
  test: Float64Array;
  nTrain: number;
  nTest: number;
  /** The true density, when known in closed form (`mixture`). */
  truth?: GaussianMixture2D;
}

/** 8-bit images, dequantised per batch. */
export interface ImageDataset {
  kind: 'image';
  name: string;
  /** `[C, H, W]`. */
  shape: [number, number, number];
  train: ImageSet;
  test: ImageSet;
  /** Number of intensity levels (256). */
  bins: number;
}

export type Dataset = VectorDataset | ImageDataset;

/** Values per example. */
export function datasetSize(d: Dataset): number {
  return d.kind === 'vector' ? d.dim : d.shape[0] * d.shape[1] * d.shape[2];
}

export function datasetShape(d: Dataset): number[] {
  return d.kind === 'vector' ? [d.dim] : [...d.shape];
}
