import type { Flow } from '../flow/flow.js';
import type { Graph } from '../graph/graph.js';
import type { FlowRuntime } from '../runtime/types.js';
import type { Tensor } from '../tensor.js';

/**
 * The engine seam. Every backend registers one {@link EngineProvider} with core's registry
 * (`registerEngineProvider`); models, the CLI and the bench find engines only through it.
 * An engine is a name users see (`reference`, `tfjs-wasm`, `ort-node-cpu`, ...); a provider
 * serves a family of them.
 */

/** Whether an engine runs here, and if not, why — one type for every backend. */
export interface EngineStatus {
  /** The name users pass (`tfjs-wasm`, `ort-node-cpu`, `reference`, ...). */
  readonly engine: string;
  /** The provider's family (`reference`, `tfjs`, `ort`). */
  readonly family: string;
  readonly available: boolean;
  /** Why it does not run here (absent when it does). */
  readonly reason?: string;
  /** The command that would make it run, where one would (e.g. `npm install @tensorflow/tfjs-node`). */
  readonly install?: string;
  /** What runs, when available (e.g. `SIMD, 2 threads`, `CPU execution provider`). */
  readonly detail?: string;
  /** Whether {@link EngineProvider.openGradients} works for it (the engine can train). */
  readonly trains: boolean;
}

/**
 * Loss and parameter gradients of one graph, compiled for one engine. The graph has a scalar
 * output (`loss`, shape `[]` or `[1]`); `run` evaluates it at the given parameters and returns
 * every requested output plus d loss / d θ for each parameter in `wrt`.
 */
export interface GradientProgram {
  readonly engine: string;
  run(
    inputs: Readonly<Record<string, Tensor>>,
    params: Readonly<Record<string, Float32Array>>,
  ): Promise<{ loss: number; outputs: Record<string, Float32Array | Float64Array>; grads: Record<string, Float32Array> }>;
  dispose(): Promise<void>;
}

export interface GradientOptions {
  /** Name of the scalar output to differentiate. */
  readonly loss: string;
  /** Parameters to differentiate with respect to; the others are held fixed (e.g. a frozen teacher). */
  readonly wrt: readonly string[];
  /** Further outputs of the graph to return (forward values), e.g. `logProb`. */
  readonly outputs?: readonly string[];
  /**
   * The loss is a mean over the batch of per-example terms (plus terms of the parameters
   * alone), every graph input carries the batch on its leading axis, and nothing else couples
   * the examples: an engine may then evaluate it on slices of the batch and average loss and
   * gradients weighted by slice size (data parallelism). The trainer's and distillation's
   * objectives say so; a data-dependent initialisation (batch statistics) must not. Not
   * allowed with `outputs`.
   */
  readonly meanOverBatch?: boolean;
}

/** What an engine that trains provides to core's trainer: gradients of a loss graph. */
export interface GradientEngine {
  readonly engine: string;
  compile(graph: Graph, options: GradientOptions): Promise<GradientProgram>;
}

/** One backend's engines, registered with core. */
export interface EngineProvider {
  readonly family: string;
  /** Every engine name this provider serves, available here or not. */
  readonly engines: readonly string[];
  /** Probe one engine (cached by the provider when probing is costly). */
  status(engine: string): Promise<EngineStatus>;
  /**
   * A runtime for `flow` on `engine`. The registry wraps it with the edge checks
   * (`checkInput`, `sampleNoise`), so a provider need not repeat them.
   */
  openRuntime(flow: Flow, engine: string): Promise<FlowRuntime>;
  /** Gradients of loss graphs on `engine`; absent when the family cannot train. */
  openGradients?(engine: string): Promise<GradientEngine>;
}
