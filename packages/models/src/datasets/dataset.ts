import type { DataFileSpec } from './files.js';
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
  /** A user's file: the names of the modelled columns. */
  columns?: string[];
  /** A user's file (`--data`): how it was read and split. */
  source?: DataFileSpec;
  /** Conditioning variables per example (`--context-columns`). */
  context?: DatasetContext;
}

/**
 * Per-example conditioning variables `[n, dim]` row-major for each split: table columns
 * (`--context-columns`), or one-hot classes (`--condition-on label`).
 */
export interface DatasetContext {
  kind: 'columns' | 'classes';
  dim: number;
  /** Column names, or class names. */
  names: string[];
  train: Float64Array;
  test: Float64Array;
}

/** Class labels of an image dataset (class sub-folders, Fashion-MNIST label files). */
export interface DatasetLabels {
  classes: string[];
  train: Int32Array;
  test: Int32Array;
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
  /** A user's folder or array (`--data`): how it was read and split. */
  source?: DataFileSpec;
  labels?: DatasetLabels;
  /** One-hot classes per example (`--condition-on label`). */
  context?: DatasetContext;
}

export type Dataset = VectorDataset | ImageDataset;

/** Values per example. */
export function datasetSize(d: Dataset): number {
  return d.kind === 'vector' ? d.dim : d.shape[0] * d.shape[1] * d.shape[2];
}

export function datasetShape(d: Dataset): number[] {
  return d.kind === 'vector' ? [d.dim] : [...d.shape];
}
