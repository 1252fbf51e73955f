import { Rng, bitsPerDim, natsPerDim, type FlowRuntime } from '@bijective/core';
import { checkEventFits, gatherContext, gatherExamples, splitOf } from './datasets/batches.js';
import { datasetSize, type Dataset } from './datasets/dataset.js';

/**
 * Test-set likelihood of a flow.
 *
 * Vectors: `nll` = mean −log q(x) in nats per example.
 * Images: the flow models dequantised x = (k + u)/256 on [0, 1); with `nllDequantized` the
 * mean −log q(x) of one noise draw per image (seeded), the discrete data's NLL bound is
 * `nll = nllDequantized + D·log 256` nats per image, and `bitsPerDim = nll / (D·log 2)`
 * (core's `bitsPerDim`; see its doc for the Jensen bound).
 */
export interface EvalResult {
  /** Mean negative log-likelihood, nats per example (images: of the 8-bit data). */
  nll: number;
  /** Standard error of `nll` over the examples. */
  nllStdErr: number;
  /** Images only. */
  bitsPerDim?: number;
  /** Images only: mean −log q(x) on the dequantised [0, 1) scale (what `log_prob.onnx` gives, negated). */
  nllDequantized?: number;
  /** Vectors only: `nll / D`. */
  natsPerDim?: number;
  n: number;
  engine: string;
  /**
   * Datasets with a known density (the 2-D mixture): the paired estimate of KL(p‖q) =
   * E_p[log p(x) − log q(x)] over the same examples, with its standard error; in expectation
   * it is `nll` minus the true entropy, with far less noise than either.
   */
  kl?: { value: number; stdErr: number };
  /**
   * Examples whose log q(x) came out non-finite (present only when some did): they are left out
   * of `nll`, its standard error and `kl`, so the rest still says something; `n` counts them too.
   * (An IAF's density of external data is a D-step recursion that can overflow on a few.)
   */
  nonFinite?: number;
  /** The median of the examples' NLLs (same scale as `nll`): what a mean carried by a few examples hides. */
  nllMedian: number;
  /** Images only: `nllMedian` in bits per dimension. */
  bitsPerDimMedian?: number;
  /**
   * The (at most) 3 examples of highest NLL, worst first: `index` in the split, `nll` on `nll`'s
   * scale. One Fashion-MNIST test image at 1e15 bits/dim once made a Glow's whole test mean.
   */
  worst: { index: number; nll: number }[];
}

export interface EvalOptions {
  event: readonly number[];
  split?: 'train' | 'test';
  /** Examples per logProb call (default 256). */
  batch?: number;
  /** At most this many examples (the first ones; default all). */
  limit?: number;
  /** Dequantisation noise seed for images (default 0). */
  seed?: number;
}

export async function evaluate(runtime: FlowRuntime, dataset: Dataset, options: EvalOptions): Promise<EvalResult> {
  const split = options.split ?? 'test';
  checkEventFits(dataset, options.event);
  const total = splitOf(dataset, split).count;
  if (total === 0) throw new Error(`the ${split} split of ${dataset.name} is empty: nothing to evaluate`);
  const n = Math.min(total, options.limit ?? total);
  const batch = options.batch ?? 256;
  const rng = new Rng(options.seed ?? 0);
  const nll = new Stats();
  const kl = new Stats();
  const truth = dataset.kind === 'vector' ? dataset.truth : undefined;
  let nonFinite = 0;
  const perExample: { index: number; nll: number }[] = [];
  for (let at = 0; at < n; at += batch) {
    const idx = Array.from({ length: Math.min(batch, n - at) }, (_, i) => at + i);
    const x = gatherExamples(dataset, split, idx, options.event, rng);
    const context = gatherContext(dataset, split, idx);
    const logProb = await runtime.logProb(x, context ? { context } : undefined);
    const logP = truth?.logDensity(x.data);
    logProb.forEach((lq, i) => {
      if (!Number.isFinite(lq)) {
        nonFinite++;
        return;
      }
      nll.add(-lq);
      perExample.push({ index: at + i, nll: -lq });
      if (logP) kl.add(logP[i]! - lq);
    });
  }
  if (nonFinite === n) throw new Error(`evaluate: every one of the ${n} ${split} examples has a non-finite log-density on ${runtime.engine}; the flow's density is broken`);
  const bad = nonFinite > 0 ? { nonFinite } : {};
  const mean = nll.mean;
  const stdErr = nll.stdErr;
  const d = datasetSize(dataset);
  // Images: per-example values on the 8-bit data's scale, as `nll`. One sort, worst first.
  const offset = dataset.kind === 'vector' ? 0 : d * Math.log(dataset.bins);
  const byNll = perExample.sort((a, b) => b.nll - a.nll);
  const mid = byNll.length >> 1;
  const medianRaw = byNll.length % 2 === 1 ? byNll[mid]!.nll : (byNll[mid - 1]!.nll + byNll[mid]!.nll) / 2;
  const median = medianRaw + offset;
  const worst = byNll.slice(0, 3).map((e) => ({ index: e.index, nll: e.nll + offset }));
  if (dataset.kind === 'vector') {
    return { nll: mean, nllStdErr: stdErr, natsPerDim: natsPerDim(mean, d), n, engine: runtime.engine, ...(truth ? { kl: { value: kl.mean, stdErr: kl.stdErr } } : {}), ...bad, nllMedian: median, worst };
  }
  return {
    nll: mean + offset,
    nllStdErr: stdErr,
    bitsPerDim: bitsPerDim(mean, d, { bins: dataset.bins }),
    nllMedian: median,
    bitsPerDimMedian: bitsPerDim(medianRaw, d, { bins: dataset.bins }),
    worst,
    nllDequantized: mean,
    n,
    engine: runtime.engine,
    ...bad,
  };
}

/** `" (k of them with a non-finite density, left out)"` when an evaluation had any; else `""`. */
export function nonFiniteNote(r: EvalResult): string {
  return r.nonFinite ? ` (${r.nonFinite} of them with a non-finite density, left out)` : '';
}

/** Running mean and variance (Welford), for a mean and its standard error. */
class Stats {
  private n = 0;
  mean = 0;
  private m2 = 0;
  add(v: number): void {
    this.n++;
    const d = v - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (v - this.mean);
  }
  get stdErr(): number {
    return this.n > 1 ? Math.sqrt(this.m2 / (this.n - 1) / this.n) : 0;
  }
}
