import type { DType, Shape } from '../tensor.js';
import type { Graph } from './graph.js';

/**
 * The closed primitive set. Every layer is a composition of these; every backend
 * implements exactly these, in one table typed `LoweringTable`, so a missing
 * lowering is a compile error.
 *
 * Conventions: NCHW images; broadcasting is NumPy's; `'N'` is the batch dimension.
 * `logAbsDet` and `matrixInverse` are *parameter-only*: their input may not depend on
 * a graph input, so an exporter may evaluate them once and embed the result.
 * `loop` runs its body graph `count` times on a carried state (the fixed-point form
 * used by the sequential directions of autoregressive flows).
 */
export interface PrimitiveAttrs {
  input: { name: string };
  param: { name: string };
  constant: { values: number[] };

  neg: Record<string, never>;
  exp: Record<string, never>;
  log: Record<string, never>;
  tanh: Record<string, never>;
  sigmoid: Record<string, never>;
  relu: Record<string, never>;
  sqrt: Record<string, never>;
  abs: Record<string, never>;
  /** The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt (ONNX `Erf`, tfjs `erf`). */
  erf: Record<string, never>;

  add: Record<string, never>;
  sub: Record<string, never>;
  mul: Record<string, never>;
  div: Record<string, never>;
  maximum: Record<string, never>;
  less: Record<string, never>;
  greaterEqual: Record<string, never>;
  where: Record<string, never>;

  sum: ReduceAttrs;
  mean: ReduceAttrs;
  max: ReduceAttrs;

  matmul: Record<string, never>;
  /** NCHW input, OIHW weight, stride 1, dilation 1; pads = [top, left, bottom, right]. */
  conv2d: { pads: [number, number, number, number] };
  /**
   * The filter gradient of `conv2d`: x `[N, Cin, H, W]`, dy `[N, Cout, oh, ow]` → `[Cout, Cin, kh, kw]`,
   * out[co, ci, i, j] = Σₙ Σ_{p,q} xpad[n, ci, p+i, q+j] · dy[n, co, p, q] (xpad: x padded by
   * `pads`, [top, left, bottom, right]; stride 1). Summed over the batch: the result has no `N`.
   */
  conv2dWeightGrad: { pads: [number, number, number, number]; kernel: [number, number] };

  reshape: { shape: Shape };
  transpose: { perm: number[] };
  slice: { axis: number; start: number; end: number };
  concat: { axis: number };
  gather: { axis: number; indices: number[] };
  cumsum: { axis: number };

  logAbsDet: Record<string, never>;
  matrixInverse: Record<string, never>;

  /** inputs: [state, ...invariants]; body inputs: `state`, `inv0`, `inv1`, ...; body output `state`. */
  loop: { count: number; body: Graph };
}

export interface ReduceAttrs {
  axes: number[];
  keepDims: boolean;
}

export type PrimitiveName = keyof PrimitiveAttrs;

export const UNARY_PRIMITIVES = ['neg', 'exp', 'log', 'tanh', 'sigmoid', 'relu', 'sqrt', 'abs', 'erf'] as const;
export const BINARY_PRIMITIVES = ['add', 'sub', 'mul', 'div', 'maximum', 'less', 'greaterEqual'] as const;
export const REDUCE_PRIMITIVES = ['sum', 'mean', 'max'] as const;
export type UnaryPrimitive = (typeof UNARY_PRIMITIVES)[number];
export type BinaryPrimitive = (typeof BINARY_PRIMITIVES)[number];
export type ReducePrimitive = (typeof REDUCE_PRIMITIVES)[number];

/** Every primitive name, in a stable order (docs, conformance, coverage checks). */
export const PRIMITIVES: readonly PrimitiveName[] = [
  'input', 'param', 'constant',
  ...UNARY_PRIMITIVES,
  ...BINARY_PRIMITIVES,
  'where',
  ...REDUCE_PRIMITIVES,
  'matmul', 'conv2d', 'conv2dWeightGrad',
  'reshape', 'transpose', 'slice', 'concat', 'gather', 'cumsum',
  'logAbsDet', 'matrixInverse',
  'loop',
];

export interface NodeBase {
  /** Index of this node in `graph.nodes`; inputs refer to earlier ids only. */
  readonly id: number;
  readonly inputs: readonly number[];
  readonly shape: Shape;
  readonly dtype: DType;
}

export type NodeOf<K extends PrimitiveName> = NodeBase & { readonly op: K; readonly attrs: PrimitiveAttrs[K] };
export type Node = { [K in PrimitiveName]: NodeOf<K> }[PrimitiveName];

/**
 * A backend's lowering: one function per primitive. `T` is the engine's tensor type,
 * `C` whatever context the engine passes along (session, parameter map, ...).
 */
export type LoweringTable<T, C> = { readonly [K in PrimitiveName]: (node: NodeOf<K>, inputs: T[], ctx: C) => T };
