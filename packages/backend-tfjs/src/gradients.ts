import * as tf from '@tensorflow/tfjs-core';
import { broadcast } from './lower.js';

/**
 * Gradients of the tfjs kernels the lowering emits.
 *
 * tfjs-core registers no gradients by itself: the `@tensorflow/tfjs` union package imports
 * `@tensorflow/tfjs-core/dist/register_all_gradients`, an ES module with extension-less
 * imports that Node cannot load next to tfjs-core's CommonJS build (the one Node resolves).
 * So this package registers, for exactly the kernels its lowering and its own gradients
 * run, gradient functions written in tfjs ops (after tfjs-core's `gradients/*_grad.ts`,
 * Apache-2.0). A gradient already registered (e.g. by `@tensorflow/tfjs`) is left alone.
 *
 * Broadcasting binary ops sum the incoming gradient over the broadcast axes
 * (`getReductionAxes`); reductions broadcast it back over the reduced axes.
 */

type Grad = tf.GradConfig;
type T = tf.Tensor;

/**
 * Sums `dy` down to `shape` over the axes broadcasting added or stretched. Always a new tensor:
 * returning `dy` itself would hand one tensor to both operands of a binary op, and the tape's
 * accumulation, which disposes what it has summed, could then free it while the other operand's
 * entry still holds it ("Cannot read properties of undefined (reading 'backend')").
 */
function unbroadcast(dy: T, shape: number[]): T {
  const axes = tf.broadcast_util.getReductionAxes(shape, dy.shape);
  const summed = axes.length > 0 ? tf.sum(dy, axes) : tf.clone(dy);
  return sameShape(summed.shape, shape) ? summed : tf.reshape(summed, shape);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** `dy` of a reduction over `axes` (output with or without kept dims), reshaped to broadcast over `shape`. */
function expandReduced(t: T, shape: readonly number[], axes: readonly number[]): T {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return tf.reshape(t, kept);
}

function axesOf(axis: number | number[] | undefined | null, rank: number): number[] {
  const list = axis === undefined || axis === null ? [...Array(rank).keys()] : Array.isArray(axis) ? axis : [axis];
  return list.map((a) => (a < 0 ? a + rank : a));
}

/** Bool (comparison results) to float; float32 tensors pass through (a cast would copy). */
const float = (t: T) => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));

const GRADIENTS: Grad[] = [
  { kernelName: tf.Identity, gradFunc: (dy) => ({ x: () => tf.clone(dy as T) }) },
  { kernelName: tf.Cast, gradFunc: (dy) => ({ x: () => tf.clone(dy as T) }) },
  { kernelName: tf.Neg, gradFunc: (dy) => ({ x: () => tf.neg(dy as T) }) },
  { kernelName: tf.Exp, outputsToSave: [true], gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as T, y!) }) },
  { kernelName: tf.Log, inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.div(dy as T, float(x!)) }) },
  {
    kernelName: tf.Tanh,
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(tf.sub(tf.scalar(1), tf.square(y!)), dy as T) }),
  },
  {
    kernelName: tf.Sigmoid,
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as T, tf.mul(y!, tf.sub(tf.scalar(1), y!))) }),
  },
  { kernelName: tf.Relu, inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as T, float(tf.step(x!))) }) },
  {
    kernelName: tf.Sqrt,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.div(dy as T, tf.mul(tf.sqrt(float(x!)), 2)) }),
  },
  // d|x| = sign(x), and 0 at 0 (the subgradient TensorFlow uses).
  { kernelName: tf.Abs, inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as T, tf.sign(float(x!))) }) },
  // d erf(x)/dx = 2/√π · e^(−x²).
  {
    kernelName: tf.Erf,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as T, tf.mul(tf.exp(tf.neg(tf.square(float(x!)))), 2 / Math.sqrt(Math.PI))) }),
  },

  {
    kernelName: tf.Add,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({ a: () => unbroadcast(dy as T, a!.shape), b: () => unbroadcast(dy as T, b!.shape) }),
  },
  {
    kernelName: tf.Sub,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({ a: () => unbroadcast(dy as T, a!.shape), b: () => tf.neg(unbroadcast(dy as T, b!.shape)) }),
  },
  {
    kernelName: tf.Multiply,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy as T, float(b!)), a!.shape),
      b: () => unbroadcast(tf.mul(dy as T, float(a!)), b!.shape),
    }),
  },
  {
    kernelName: tf.RealDiv,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.div(dy as T, float(b!)), a!.shape),
      b: () => unbroadcast(tf.neg(tf.div(tf.mul(dy as T, float(a!)), tf.square(float(b!)))), b!.shape),
    }),
  },
  {
    kernelName: tf.Maximum,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy as T, float(tf.greaterEqual(a!, b!))), a!.shape),
      b: () => unbroadcast(tf.mul(dy as T, float(tf.less(a!, b!))), b!.shape),
    }),
  },
  // Comparisons are piecewise constant: zero gradient (they sit on the tape when a `where`
  // condition depends on parameters).
  { kernelName: tf.Less, inputsToSave: ['a', 'b'], gradFunc: (_, [a, b]) => ({ a: () => tf.zerosLike(a!), b: () => tf.zerosLike(b!) }) },
  { kernelName: tf.GreaterEqual, inputsToSave: ['a', 'b'], gradFunc: (_, [a, b]) => ({ a: () => tf.zerosLike(a!), b: () => tf.zerosLike(b!) }) },
  {
    kernelName: tf.Select,
    inputsToSave: ['condition'],
    gradFunc: (dy, [c]) => ({
      condition: () => float(tf.zerosLike(c!)),
      t: () => tf.mul(dy as T, float(c!)),
      e: () => tf.mul(dy as T, float(tf.logicalNot(c!))),
    }),
  },

  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = axesOf((attrs as unknown as tf.SumAttrs).axis, x!.rank);
      return { x: () => broadcast(expandReduced(dy as T, x!.shape, axes), x!.shape) };
    },
  },
  {
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = axesOf((attrs as unknown as tf.MeanAttrs).axis, x!.rank);
      const count = axes.reduce((n, a) => n * x!.shape[a]!, 1);
      return { x: () => broadcast(expandReduced(tf.div(dy as T, count), x!.shape, axes), x!.shape) };
    },
  },
  {
    // The gradient flows to every entry equal to the maximum (ties share it, as in tfjs).
    kernelName: tf.Max,
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, [x, y], attrs) => {
      const axes = axesOf((attrs as unknown as tf.MaxAttrs).reductionIndices, x!.rank);
      return { x: () => tf.mul(expandReduced(dy as T, x!.shape, axes), float(tf.equal(x!, expandReduced(y!, x!.shape, axes)))) };
    },
  },

  {
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], attrs) => {
      const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
      const g = dy as T;
      if (!transposeA && !transposeB) return { a: () => tf.matMul(g, b!, false, true), b: () => tf.matMul(a!, g, true, false) };
      if (!transposeA && transposeB) return { a: () => tf.matMul(g, b!, false, false), b: () => tf.matMul(g, a!, true, false) };
      if (transposeA && !transposeB) return { a: () => tf.matMul(b!, g, false, true), b: () => tf.matMul(a!, g, false, false) };
      return { a: () => tf.matMul(b!, g, true, true), b: () => tf.matMul(g, a!, true, true) };
    },
  },
  {
    kernelName: tf.Conv2D,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, [x, filter], attrs) => {
      const { dilations, strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as tf.Conv2DAttrs;
      const d = typeof dilations === 'number' ? [dilations, dilations] : (dilations ?? [1, 1]);
      if (d[0] !== 1 || d[1] !== 1) throw new Error(`gradient of Conv2D: dilations other than 1 are not supported (got ${d.join('x')})`);
      const common = { strides, pad, dataFormat, dimRoundingMode };
      return {
        x: () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dy as T, filter: filter! }, { ...common, inputShape: x!.shape } as never) as T,
        filter: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: x!, dy: dy as T }, { ...common, filterShape: filter!.shape } as never) as T,
      };
    },
  },

  { kernelName: tf.Reshape, inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy as T, x!.shape) }) },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, _, attrs) => {
      const { perm } = attrs as unknown as tf.TransposeAttrs;
      const inverse = new Array<number>(perm.length);
      perm.forEach((p, i) => (inverse[p] = i));
      return { x: () => tf.transpose(dy as T, inverse) };
    },
  },
  {
    kernelName: tf.Slice,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { begin, size } = attrs as unknown as tf.SliceAttrs;
      const [start, sizes] = tf.slice_util.parseSliceParams(x!, begin, size) as [number[], number[]];
      return { x: () => tf.pad(dy as T, x!.shape.map((d, i) => [start[i]!, d - start[i]! - sizes[i]!] as [number, number])) };
    },
  },
  {
    kernelName: tf.Concat,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const axis = axesOf((attrs as unknown as tf.ConcatAttrs).axis, saved[0]!.rank)[0]!;
      const parts = tf.split(dy as T, saved.map((t) => t.shape[axis]!), axis);
      return Object.fromEntries(parts.map((p, i) => [String(i), () => p]));
    },
  },
  {
    // 1-D indices: out[..., j, ...] = x[..., idx[j], ...], so dx = segment-sum of dy by idx on `axis`.
    kernelName: tf.GatherV2,
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, [x, indices], attrs) => {
      const { axis, batchDims } = attrs as unknown as tf.GatherV2Attrs;
      if (indices!.rank !== 1 || (batchDims ?? 0) !== 0) throw new Error('gradient of GatherV2: only 1-D indices without batch dims are supported');
      const a = axesOf(axis, x!.rank)[0]!;
      const toFront = [a, ...[...Array(x!.rank).keys()].filter((i) => i !== a)];
      const back = new Array<number>(x!.rank);
      toFront.forEach((p, i) => (back[p] = i));
      return {
        x: () => tf.transpose(tf.unsortedSegmentSum(tf.transpose(dy as T, toFront), indices as tf.Tensor1D, x!.shape[a]!), back),
        indices: () => tf.zerosLike(float(indices!)),
      };
    },
  },
  {
    // An inclusive cumsum's adjoint is the reverse cumsum (exclusive stays exclusive).
    kernelName: tf.Cumsum,
    gradFunc: (dy, _, attrs) => {
      const { axis, exclusive, reverse } = attrs as unknown as tf.CumsumAttrs;
      return { x: () => tf.cumsum(dy as T, axis, exclusive, !reverse) };
    },
  },
  {
    // tile(x, reps) laid out rep-major per axis: view dy as [r0, d0, r1, d1, ...] and sum the reps.
    kernelName: tf.Tile,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { reps } = attrs as unknown as tf.TileAttrs;
      const split = x!.shape.flatMap((d, i) => [reps[i]!, d]);
      const repAxes = x!.shape.map((_, i) => 2 * i);
      return { x: () => tf.sum(tf.reshape(dy as T, split), repAxes) };
    },
  },
];

let registered = false;

/** Registers the gradients above where none is registered yet (idempotent). */
export function registerGradients(): void {
  if (registered) return;
  registered = true;
  for (const g of GRADIENTS) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
}
