/** A dimension: a fixed size, or `'N'`, the batch dimension whose size is known only at run time. */
export type Dim = number | 'N';
export type Shape = readonly Dim[];
/** Element types of graph values. Every engine computes `float32` (the reference: float64). */
export type DType = 'float32' | 'bool';

/** A dense row-major tensor handed across the runtime edge. */
export interface Tensor {
  data: Float32Array | Float64Array;
  shape: number[];
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Replaces the batch dimension `'N'` with `n`. */
export function concreteShape(shape: Shape, n: number): number[] {
  return shape.map((d) => (d === 'N' ? n : d));
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}
