import type { ActNormSpec } from './actnorm.js';
import type { AffineCouplingInput, AffineCouplingSpec } from './affine.js';
import type { IafInput, IafSpec, MafInput, MafSpec } from './autoregressive.js';
import type { GaussianizeInput, GaussianizeSpec } from './gaussianize.js';
import type { HouseholderInput, HouseholderSpec } from './householder.js';
import type { InvConv1x1Input, InvConv1x1Spec } from './invconv.js';
import type { LogitInput, LogitSpec } from './logit.js';
import type { MintBlockInput, MintBlockSpec } from './mintnet.js';
import type { SplitInput, SplitSpec, SqueezeSpec } from './multiscale.js';
import type { AdditiveCouplingInput, AdditiveCouplingSpec, ScaleSpec } from './nice.js';
import type { PermuteInput, PermuteSpec } from './permute.js';
import type { SplineAutoregressiveInput, SplineAutoregressiveSpec } from './spline-autoregressive.js';
import type { SplineCouplingInput, SplineCouplingSpec } from './spline-coupling.js';
import type { StandardizeSpec } from './standardize.js';

/**
 * A layer as written in a flow spec, one member per family in the registry, discriminated by
 * `type`. The fields a family's `parse` fills with a default are optional here, so a literal
 * spec in TypeScript is checked as it is written: a misspelled field, an unknown `type` or a
 * wrong field type is a compile error. JSON read from disk goes through `createFlow` as
 * `Record<string, unknown>` and is checked at run time instead (a `SpecError`).
 */
export type LayerSpec =
  | AdditiveCouplingInput
  | ScaleSpec
  | AffineCouplingInput
  | ActNormSpec
  | InvConv1x1Input
  | SqueezeSpec
  | SplitInput
  | MafInput
  | IafInput
  | PermuteInput
  | LogitInput
  | StandardizeSpec
  | GaussianizeInput
  | HouseholderInput
  | SplineCouplingInput
  | SplineAutoregressiveInput
  | MintBlockInput;

/**
 * A layer spec after `createFlow` has read it: every default filled in (what `flow.spec.layers`
 * and `flow.layers[i].spec` hold). Each member is assignable to the matching {@link LayerSpec}.
 */
export type ResolvedLayerSpec =
  | AdditiveCouplingSpec
  | ScaleSpec
  | AffineCouplingSpec
  | ActNormSpec
  | InvConv1x1Spec
  | SqueezeSpec
  | SplitSpec
  | MafSpec
  | IafSpec
  | PermuteSpec
  | LogitSpec
  | StandardizeSpec
  | GaussianizeSpec
  | HouseholderSpec
  | SplineCouplingSpec
  | SplineAutoregressiveSpec
  | MintBlockSpec;

/** A layer type name: `'affineCoupling'`, `'maf'`, ... */
export type LayerType = LayerSpec['type'];

/** The layer spec of one family, by its `type` (`LayerSpecOf<'maf'>`); {@link ResolvedLayerSpecOf} for the resolved one. */
export type LayerSpecOf<T extends LayerType> = Extract<LayerSpec, { type: T }>;
export type ResolvedLayerSpecOf<T extends LayerType> = Extract<ResolvedLayerSpec, { type: T }>;
