import { Rng, dequantize, formatShape, sizeOf, type Tensor } from '@bijective/core';
import { datasetShape, datasetSize, type Dataset } from './dataset.js';

/**
 * The training pipeline: examples in a seeded random order (a fresh permutation every
 * epoch), cut into batches of `batch` (the last, incomplete batch of an epoch is dropped, so
 * every step sees the same batch size), images dequantised to [0, 1) with fresh uniform noise
 * (`(k + u) / 256`, core's `dequantize`), and shaped to the flow's `event` (an image set feeds
 * a 784-vector flow by flattening: row-major data, so a reshape).
 */
export interface BatchStream {
  next(): Tensor;
  /** Completed epochs. */
  readonly epoch: number;
  readonly stepsPerEpoch: number;
}

export class ShapeMismatchError extends Error {
  override name = 'ShapeMismatchError';
}

/** Checks that a flow with `event` can model `dataset` (same number of values per example). */
export function checkEventFits(dataset: Dataset, event: readonly number[], flowName = 'the flow'): void {
  if (sizeOf(event) !== datasetSize(dataset)) {
    throw new ShapeMismatchError(
      `${flowName} models events of shape ${formatShape(event)} (${sizeOf(event)} values); dataset '${dataset.name}' has examples of shape ${formatShape(datasetShape(dataset))} (${datasetSize(dataset)} values)`,
    );
  }
}

export function splitOf(dataset: Dataset, split: 'train' | 'test'): { count: number; values: Float64Array | Uint8Array } {
  if (dataset.kind === 'vector') return split === 'train' ? { count: dataset.nTrain, values: dataset.train } : { count: dataset.nTest, values: dataset.test };
  const s = dataset[split];
  return { count: s.count, values: s.data };
}

/**
 * Copies the examples `indices` into one `[n, ...event]` float tensor; images are
 * dequantised with `rng` (required for images).
 */
export function gatherExamples(dataset: Dataset, split: 'train' | 'test', indices: readonly number[], event: readonly number[], rng?: Rng): Tensor {
  const size = datasetSize(dataset);
  const { values, count } = splitOf(dataset, split);
  const bad = indices.find((i) => !Number.isInteger(i) || i < 0 || i >= count);
  if (bad !== undefined) throw new RangeError(`example ${bad} is out of range: the ${split} split of ${dataset.name} has ${count} examples (0..${count - 1})`);
  const shape = [indices.length, ...event];
  if (dataset.kind === 'vector') {
    const data = new Float64Array(indices.length * size);
    indices.forEach((idx, i) => data.set(values.subarray(idx * size, (idx + 1) * size), i * size));
    return { data, shape };
  }
  if (!rng) throw new Error('gatherExamples: images need an rng for dequantisation');
  const bytes = new Uint8Array(indices.length * size);
  indices.forEach((idx, i) => bytes.set(values.subarray(idx * size, (idx + 1) * size), i * size));
  return { data: dequantize(bytes, rng, { bins: dataset.bins }), shape };
}

/** The context rows `indices` of a conditional dataset as `[n, K]`; undefined when the dataset has none. */
export function gatherContext(dataset: Dataset, split: 'train' | 'test', indices: readonly number[]): Tensor | undefined {
  const c = dataset.context;
  if (!c) return undefined;
  const values = c[split];
  const data = new Float64Array(indices.length * c.dim);
  indices.forEach((idx, i) => data.set(values.subarray(idx * c.dim, (idx + 1) * c.dim), i * c.dim));
  return { data, shape: [indices.length, c.dim] };
}

/** An endless stream of shuffled training batches; `seed` fixes the order and the dequantisation noise. */
export function batchStream(dataset: Dataset, options: { batch: number; seed: number; event: readonly number[]; split?: 'train' | 'test' }): BatchStream {
  const split = options.split ?? 'train';
  checkEventFits(dataset, options.event);
  const { count } = splitOf(dataset, split);
  const batch = options.batch;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new RangeError(`batch must be a positive integer, got ${batch}`);
  if (batch > count) throw new RangeError(`batch ${batch} is larger than the ${split} set of '${dataset.name}' (${count} examples)`);
  const stepsPerEpoch = Math.floor(count / batch);
  const orderRng = new Rng(options.seed);
  const noiseRng = new Rng(options.seed + 7919);
  let order = orderRng.permutation(count);
  let at = 0;
  let epoch = 0;
  return {
    get epoch() {
      return epoch;
    },
    stepsPerEpoch,
    next() {
      if (at + batch > count) {
        order = orderRng.permutation(count);
        at = 0;
        epoch++;
      }
      const idx = order.slice(at, at + batch);
      at += batch;
      return gatherExamples(dataset, split, idx, options.event, noiseRng);
    },
  };
}
