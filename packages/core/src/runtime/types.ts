import type { ContextOptions } from '../flow/context.js';
import type { Tensor } from '../tensor.js';

export interface SampleOptions {
  n: number;
  /** Scales the base noise (default 1). */
  temperature?: number;
  /** Seed of core's noise generator (default 0): the same seed gives the same sample on every engine. */
  seed?: number;
  /** Conditional flows: the context, `[n, K]` or `[K]` (the same for every sample). */
  context?: Tensor;
}

/** The face every engine offers. */
export interface FlowRuntime {
  /** Which engine runs: 'reference', 'tfjs-wasm', 'ort-node-cpu', ... */
  readonly engine: string;
  /** log p(x) in nats, one per example. */
  logProb(x: Tensor, options?: ContextOptions): Promise<Float32Array | Float64Array>;
  /** z = f(x) (same shape as x, multi-scale pieces in the canonical layout) and log|det ∂z/∂x|. */
  encode(x: Tensor, options?: ContextOptions): Promise<{ z: Tensor; logDet: Float32Array | Float64Array }>;
  /** x = f⁻¹(z). */
  decode(z: Tensor, options?: ContextOptions): Promise<Tensor>;
  sample(options: SampleOptions): Promise<Tensor>;
  dispose(): Promise<void>;
}
