import type { GraphBuilder, Value } from '../graph/graph.js';
import type { Obj } from '../flow/fields.js';
import type { Rng } from '../random.js';

/** A parameter a layer declares: its shape, its seeded initialiser, and whether training updates it. */
export interface ParamDecl {
  shape: number[];
  init: (rng: Rng) => ArrayLike<number>;
  /** False for fixed parts (LU permutation, ActNorm's `initialized` flag). Default true. */
  trainable?: boolean;
  /**
   * Parameters of one layer with the same `seedKey` get identical random streams (seeded by
   * `<layer prefix>.<seedKey>` instead of their own name), so pieces derived from one random
   * draw stay consistent (the LU factors of one orthogonal matrix). In `flow.paramDecls` it
   * holds the full name.
   */
  seedKey?: string;
}

/**
 * What a layer sees while it emits its graph. Parameter names are local (`w`, `bias`)
 * and are prefixed with the layer's path (`layers.3.w`).
 */
export interface LayerContext {
  readonly g: GraphBuilder;
  /** The graph value of this layer's parameter `local`. */
  param(local: string): Value;
  /** The parameter's current values (trace-time decisions, e.g. whether ActNorm is initialised). */
  paramValue(local: string): Float32Array;
  /** A context whose parameters live under `<prefix>.<sub>` (conditioner networks). */
  child(sub: string): LayerContext;
  /** True while tracing the data-dependent initialisation pass (ActNorm). */
  readonly dataInit: boolean;
  /** In the data-init pass: the value parameter `local` takes from the first batch. */
  setInit(local: string, v: Value): void;
  /** Density direction: factor out `v` (multi-scale); it joins the latent `z`. */
  emitLatent(v: Value): void;
  /** Sampling direction: the latent piece this layer factored out, of the given shape (without `N`). */
  takeLatent(shape: readonly number[]): Value;
  /** A conditional flow's context `[N, K]` (the graph input `context`); null for an unconditional flow. */
  readonly context: Value | null;
}

/** What a layer's parameters depend on besides its spec and input shape. */
export interface LayerEnv {
  /** The flow's context size K; 0 when the flow is not conditional. */
  context: number;
}

/**
 * One step of a flow. `logDet` is log|det ∂z/∂x| of the *forward* (data → latent) map,
 * in both directions: per example (`[N]`), or a scalar (`[]`) when it is the same for every
 * example (NICE's scale, ActNorm); `null` when it is zero.
 */
export interface Step {
  out: Value;
  logDet: Value | null;
}

/**
 * A layer family. `forward` maps data to latent (the density direction), `inverse`
 * latent to data (the sampling direction). Shapes exclude the batch dimension.
 */
export interface LayerDef<S extends { type: string } = { type: string }> {
  readonly type: S['type'];
  /** Validates a raw spec (fields, and that the layer fits `inShape`); returns it with defaults filled in. */
  parse(raw: Obj, path: string, inShape: readonly number[]): S;
  outShape(spec: S, inShape: readonly number[]): number[];
  params(spec: S, inShape: readonly number[], env?: LayerEnv): Record<string, ParamDecl>;
  /** Shapes of the latent pieces `forward` factors out, in order (multi-scale split). */
  latentShapes?(spec: S, inShape: readonly number[]): number[][];
  forward(ctx: LayerContext, spec: S, x: Value, inShape: readonly number[]): Step;
  inverse(ctx: LayerContext, spec: S, y: Value, inShape: readonly number[]): Step;
}

/**
 * `T` with the fields `K` optional: the spec a user writes for a layer whose `parse` fills
 * those fields in with defaults (`T` itself is the resolved spec, defaults filled in).
 */
export type WithDefaults<T, K extends keyof T> = { [P in keyof (Omit<T, K> & Partial<Pick<T, K>>)]: (Omit<T, K> & Partial<Pick<T, K>>)[P] };

export function defineLayer<S extends { type: string }>(def: LayerDef<S>): LayerDef<S> {
  return def;
}
