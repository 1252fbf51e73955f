import { dequantize } from '../flow/metrics.js';
import { Rng } from '../random.js';
import { formatShape, sizeOf } from '../tensor.js';

/** Training data: `[M, ...event]` examples, row-major; integers when dequantising (e.g. 8-bit pixels). */
export interface TrainData {
  data: Float32Array | Float64Array | Uint8Array;
  shape: number[];
  /** Conditional flows: the context of each example, `[M, K]` row-major. */
  context?: { data: Float32Array | Float64Array; shape: [number, number] };
}

/** A 32-bit seed for stream `stream`, index `index` of the run seeded by `seed`. */
export function streamSeed(seed: number, stream: number, index: number): number {
  let h = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  for (const v of [stream, index]) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

const ORDER = 1;
const NOISE = 2;

/** Checks `data` once: shape `[M, ...event]`, finite values, integers in range when dequantising. */
export function checkTrainData(what: string, data: TrainData, event: readonly number[], bins: number | undefined): number {
  const m = data.shape[0];
  const ok = data.shape.length === event.length + 1 && event.every((d, i) => data.shape[i + 1] === d) && Number.isInteger(m) && m! >= 1;
  if (!ok) throw new RangeError(`${what}: shape ${formatShape(data.shape)}, expected [M, ${event.join(', ')}] with M >= 1`);
  if (data.data.length !== sizeOf(data.shape)) throw new RangeError(`${what}: ${data.data.length} values do not fill shape ${formatShape(data.shape)}`);
  for (let i = 0; i < data.data.length; i++) {
    const v = data.data[i]!;
    const bad = bins === undefined ? !Number.isFinite(v) : !(Number.isInteger(v) && v >= 0 && v < bins);
    if (bad) {
      const expected = bins === undefined ? 'finite values' : `integers in 0..${bins - 1} (dequantize is on)`;
      throw new RangeError(`${what}: value ${i} (example ${Math.floor(i / sizeOf(event))}) is ${v}; expected ${expected}`);
    }
  }
  const c = data.context;
  if (c) {
    const k = c.shape[1];
    if (c.shape.length !== 2 || c.shape[0] !== m || c.data.length !== m! * k) throw new RangeError(`${what}: context of shape ${formatShape(c.shape)} (${c.data.length} values), expected [${m}, K] for the ${m} examples`);
    for (let i = 0; i < c.data.length; i++) {
      if (!Number.isFinite(c.data[i])) throw new RangeError(`${what}: context value ${i} (example ${Math.floor(i / k)}) is ${c.data[i]}; expected finite values`);
    }
  }
  return m!;
}

/**
 * Deterministic mini-batches: epoch `e` visits the examples in the order of a permutation
 * drawn from `(seed, e)`, step `s` takes the `s mod B`-th slice of it (the incomplete
 * remainder of an epoch is dropped), and dequantisation noise for step `s` comes from
 * `(seed, s)`. Nothing depends on history, so a resumed run sees exactly the batches the
 * uninterrupted one would have.
 */
export class Batcher {
  readonly size: number;
  readonly count: number;
  readonly batchesPerEpoch: number;
  private readonly dim: number;
  private epoch = -1;
  private order: number[] = [];

  constructor(
    private readonly data: TrainData,
    readonly event: readonly number[],
    batchSize: number,
    private readonly seed: number,
    private readonly bins: number | undefined,
  ) {
    this.count = data.shape[0]!;
    this.size = Math.min(batchSize, this.count);
    this.batchesPerEpoch = Math.floor(this.count / this.size);
    this.dim = sizeOf(event);
  }

  epochOf(step: number): number {
    return Math.floor(step / this.batchesPerEpoch);
  }

  /** The examples of step `step`. */
  rowsOf(step: number, size = this.size): number[] {
    const e = this.epochOf(step);
    if (e !== this.epoch) {
      this.order = new Rng(streamSeed(this.seed, ORDER, e)).permutation(this.count);
      this.epoch = e;
    }
    const first = (step % this.batchesPerEpoch) * this.size;
    return Array.from({ length: Math.min(size, this.count) }, (_, i) => this.order[(first + i) % this.count]!);
  }

  /** The batch of step `step` as float32 `[size * dim]`. */
  batch(step: number, size = this.size): Float32Array {
    return this.rows(this.rowsOf(step, size), streamSeed(this.seed, NOISE, step));
  }

  /** Conditional flows: the context `[size * K]` of the batch of step `step` (the same examples). */
  batchContext(step: number, size = this.size): Float32Array | undefined {
    return this.data.context ? this.contextRows(this.rowsOf(step, size)) : undefined;
  }

  /** The context rows `rows` (undefined without a context). */
  contextRows(rows: readonly number[]): Float32Array | undefined {
    const c = this.data.context;
    if (!c) return undefined;
    const k = c.shape[1];
    const out = new Float32Array(rows.length * k);
    rows.forEach((r, i) => {
      for (let j = 0; j < k; j++) out[i * k + j] = c.data[r * k + j]!;
    });
    return out;
  }

  /** Examples `rows` (dequantised with noise from `noiseSeed` when dequantising). */
  rows(rows: readonly number[], noiseSeed: number): Float32Array {
    const d = this.dim;
    const raw = new Float64Array(rows.length * d);
    rows.forEach((r, i) => {
      for (let j = 0; j < d; j++) raw[i * d + j] = this.data.data[r * d + j]!;
    });
    return Float32Array.from(this.bins === undefined ? raw : dequantize(raw, new Rng(noiseSeed), { bins: this.bins }));
  }
}
