import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetNotFoundError } from './errors.js';
import { IdxError, readIdx } from './idx.js';
import { imageSet, type ImageSet } from './images.js';

/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, https://arxiv.org/abs/1708.07747): 60,000
 * training and 10,000 test grey-scale 28×28 images of clothing, in the IDX format.
 * Default location: where the Debian package `dataset-fashion-mnist` installs the files.
 */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

const FILES = { train: 'train-images-idx3-ubyte', test: 't10k-images-idx3-ubyte' } as const;

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** The path of `base` (`.gz` preferred, plain accepted) in `dir`, or undefined. */
async function locate(dir: string, base: string): Promise<string | undefined> {
  for (const name of [`${base}.gz`, base]) if (await exists(join(dir, name))) return join(dir, name);
  return undefined;
}

async function readImages(path: string): Promise<ImageSet> {
  const { dims, data } = await readIdx(path);
  if (dims.length !== 3 || dims[1] !== 28 || dims[2] !== 28) {
    throw new IdxError(`${path}: expected images of dims [N, 28, 28], the header says [${dims.join(', ')}]`);
  }
  return imageSet([1, 28, 28], data);
}

/** Loads the training and test images as `[N, 1, 28, 28]` bytes from `dataDir` (default {@link FASHION_MNIST_DEFAULT_DIR}). */
export async function loadFashionMnist(dataDir: string = FASHION_MNIST_DEFAULT_DIR): Promise<{ train: ImageSet; test: ImageSet }> {
  const train = await locate(dataDir, FILES.train);
  const test = await locate(dataDir, FILES.test);
  if (!train || !test) {
    const missing = [train ? null : FILES.train, test ? null : FILES.test].filter(Boolean).map((f) => `${f}.gz`);
    throw new DatasetNotFoundError(
      `Fashion-MNIST not found: looked in ${dataDir} for ${missing.join(' and ')}; install it with 'apt-get install dataset-fashion-mnist' (files go to ${FASHION_MNIST_DEFAULT_DIR}) or pass --data-dir DIR, a folder holding the standard IDX gzip files`,
    );
  }
  return { train: await readImages(train), test: await readImages(test) };
}

/** The ten Fashion-MNIST classes, by label. */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

const LABEL_FILES = { train: 'train-labels-idx1-ubyte', test: 't10k-labels-idx1-ubyte' } as const;

/** The class labels (0..9) of the training and test images, from the IDX label files beside the images. */
export async function loadFashionMnistLabels(dataDir: string = FASHION_MNIST_DEFAULT_DIR): Promise<{ train: Int32Array; test: Int32Array }> {
  const read = async (base: string) => {
    const path = await locate(dataDir, base);
    if (!path) throw new DatasetNotFoundError(`Fashion-MNIST labels not found: looked in ${dataDir} for ${base}.gz (needed by --condition-on label)`);
    const { dims, data } = await readIdx(path);
    if (dims.length !== 1 || data.some((l) => l > 9)) throw new IdxError(`${path}: expected labels of dims [N] with values 0..9, the header says [${dims.join(', ')}]`);
    return Int32Array.from(data);
  };
  return { train: await read(LABEL_FILES.train), test: await read(LABEL_FILES.test) };
}
