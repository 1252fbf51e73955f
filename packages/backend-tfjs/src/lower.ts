import * as tf from '@tensorflow/tfjs-core';
import type { LoweringTable, NodeOf } from '@bijective/core';
import { NCHW_TO_NHWC, NHWC_TO_NCHW, conv2dChannelsLast, conv2dWeightGradOf } from './layout.js';
import { logAbsDetOp, matrixInverseOp, type HostLinalg, type LinalgNode } from './linalg.js';

/** What a lowering function may ask of the graph run it is part of. */
export interface TfContext {
  input(name: string): tf.Tensor;
  param(name: string): tf.Tensor;
  /** The node's values as a tensor, uploaded once and cached for the program's life. */
  constant(node: NodeOf<'constant'>): tf.Tensor;
  /** `gather` indices as an int32 tensor, cached like constants. */
  indices(node: NodeOf<'gather'>): tf.Tensor;
  /** Host float64 results for a linear-algebra node, computed before the run. */
  host(node: LinalgNode): HostLinalg;
  /** Runs a loop body once: `{state, inv0, ...} -> new state`. */
  loop(node: NodeOf<'loop'>, state: tf.Tensor, invariants: readonly tf.Tensor[]): tf.Tensor;
}

/**
 * Batched matmul with NumPy broadcasting of the batch dimensions. tfjs' BatchMatMul
 * gradient does not reduce over broadcast batch dimensions, so broadcasting is made
 * explicit here: a rank-2 right operand (the common `[N, ..., K] x [K, P]` with a weight)
 * folds the batch into rows; anything else is broadcast with {@link broadcast}, whose
 * gradient sums back.
 */
function matmul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const p = b.shape[b.shape.length - 1]!;
  if (a.rank === 2 && b.rank === 2) return tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
  if (b.rank === 2) {
    const batch = a.shape.slice(0, -2);
    return tf.reshape(tf.matMul(tf.reshape(a, [-1, k]) as tf.Tensor2D, b as tf.Tensor2D), [...batch, m, p]);
  }
  const batch = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const a3 = tf.reshape(broadcastIfNeeded(a, [...batch, m, k]), [-1, m, k]) as tf.Tensor3D;
  const b3 = tf.reshape(broadcastIfNeeded(b, [...batch, k, p]), [-1, k, p]) as tf.Tensor3D;
  return tf.reshape(tf.matMul(a3, b3), [...batch, m, p]);
}

function broadcastIfNeeded(x: tf.Tensor, shape: number[]): tf.Tensor {
  const same = x.rank === shape.length && x.shape.every((d, i) => d === shape[i]);
  return same ? x : broadcast(x, shape);
}

/**
 * `t` broadcast to `shape`. `tf.broadcastTo` runs the Tile kernel, which tfjs-wasm implements
 * as a scalar loop (5 ms for 50k floats); a broadcasting product with ones is XNNPACK's
 * (0.2 ms), and no slower elsewhere. Used here and by the Sum/Mean gradients.
 */
export function broadcast(t: tf.Tensor, shape: number[]): tf.Tensor {
  return tf.mul(t, tf.ones(shape));
}

/**
 * NCHW conv2d through tfjs' NHWC kernels (the only layout every backend implements). The
 * graph runner (`program.ts`) keeps convolution stacks channels-last instead (`layout.ts`);
 * this entry is the table's stand-alone form.
 */
function conv2d(x: tf.Tensor, w: tf.Tensor, pads: readonly [number, number, number, number]): tf.Tensor {
  return tf.transpose(conv2dChannelsLast(tf.transpose(x, NCHW_TO_NHWC), w, pads), NHWC_TO_NCHW);
}

/**
 * A cumulative sum along `axis` as one rank-3 cumsum ([before, axis, after]): tfjs' webgl and
 * webgpu kernels take at most rank 4 ("Cumulative + for rank 5 is not yet supported", the
 * spline bins of an image flow are rank 5).
 */
function cumsum(x: tf.Tensor, axis: number): tf.Tensor {
  if (x.rank <= 3) return tf.cumsum(x, axis);
  const before = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const after = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return tf.tidy(() => tf.reshape(tf.cumsum(tf.reshape(x, [before, x.shape[axis]!, after]), 1), x.shape));
}

/**
 * The tfjs lowering: one function per core primitive (a missing entry is a compile error).
 * Every function returns a fresh tensor (never one of its inputs), so the runner may free
 * values after their last use.
 */
export const tfjsLowering: LoweringTable<tf.Tensor, TfContext> = {
  input: (node, _, ctx) => ctx.input(node.attrs.name),
  param: (node, _, ctx) => ctx.param(node.attrs.name),
  constant: (node, _, ctx) => ctx.constant(node),

  neg: (_, [x]) => tf.neg(x!),
  exp: (_, [x]) => tf.exp(x!),
  log: (_, [x]) => tf.log(x!),
  tanh: (_, [x]) => tf.tanh(x!),
  sigmoid: (_, [x]) => tf.sigmoid(x!),
  relu: (_, [x]) => tf.relu(x!),
  sqrt: (_, [x]) => tf.sqrt(x!),
  abs: (_, [x]) => tf.abs(x!),
  erf: (_, [x]) => tf.erf(x!),

  add: (_, [a, b]) => tf.add(a!, b!),
  sub: (_, [a, b]) => tf.sub(a!, b!),
  mul: (_, [a, b]) => tf.mul(a!, b!),
  div: (_, [a, b]) => tf.div(a!, b!),
  maximum: (_, [a, b]) => tf.maximum(a!, b!),
  less: (_, [a, b]) => tf.less(a!, b!),
  greaterEqual: (_, [a, b]) => tf.greaterEqual(a!, b!),
  where: (_, [c, a, b]) => tf.where(c!, a!, b!),

  sum: (node, [x]) => (node.attrs.axes.length ? tf.sum(x!, node.attrs.axes, node.attrs.keepDims) : tf.clone(x!)),
  mean: (node, [x]) => (node.attrs.axes.length ? tf.mean(x!, node.attrs.axes, node.attrs.keepDims) : tf.clone(x!)),
  max: (node, [x]) => (node.attrs.axes.length ? tf.max(x!, node.attrs.axes, node.attrs.keepDims) : tf.clone(x!)),

  matmul: (_, [a, b]) => matmul(a!, b!),
  conv2d: (node, [x, w]) => conv2d(x!, w!, node.attrs.pads),
  // x [N, Cin, H, W] → images [Cin, H, W, N]; dy [N, Cout, oh, ow] → filter [oh, ow, N, Cout].
  conv2dWeightGrad: (node, [x, dy]) => tf.tidy(() => conv2dWeightGradOf(tf.transpose(x!, [1, 2, 3, 0]), tf.transpose(dy!, [2, 3, 0, 1]), node.attrs.pads)),

  reshape: (node, [x]) => tf.reshape(x!, node.attrs.shape.map((d) => (d === 'N' ? -1 : d))),
  transpose: (node, [x]) => tf.transpose(x!, node.attrs.perm),
  slice: (node, [x]) => {
    const { axis, start, end } = node.attrs;
    const begin = x!.shape.map((_, i) => (i === axis ? start : 0));
    const size = x!.shape.map((d, i) => (i === axis ? end - start : d));
    return tf.slice(x!, begin, size);
  },
  concat: (node, xs) => (xs.length === 1 ? tf.clone(xs[0]!) : tf.concat(xs, node.attrs.axis)),
  gather: (node, [x], ctx) => tf.gather(x!, ctx.indices(node), node.attrs.axis),
  cumsum: (node, [x]) => cumsum(x!, node.attrs.axis),

  logAbsDet: (node, [a], ctx) => logAbsDetOp(a!, ctx.host(node)),
  matrixInverse: (node, [a], ctx) => matrixInverseOp(a!, ctx.host(node)),

  loop: (node, [state, ...inv], ctx) => ctx.loop(node, state!, inv),
};
