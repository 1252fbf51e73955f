import * as tf from '@tensorflow/tfjs-core';
import type { Node, NodeOf } from '@bijective/core';

/**
 * Channels-last twins of NCHW values, so a convolution stack runs without transposing its
 * activations between layers.
 *
 * Core graphs are NCHW (as ONNX is); tfjs convolves only NHWC. Lowering each `conv2d` on its
 * own costs a transpose of its input and one of its output, and the gradient pass repeats
 * both: in a Glow coupling's conditioner (conv → bias → ReLU → conv → bias → ReLU → conv)
 * that is six full-size activation transposes forward and six backward per step. Here a
 * value may instead live as its NHWC twin: `conv2d` produces only the twin; elementwise
 * unary ops and binary ops with a per-channel (or scalar) operand keep it; anything else asks
 * for the NCHW tensor, which is made once (one transpose) and kept beside the twin. The
 * result is the same graph, in tfjs ops, so gradients follow through the tape unchanged.
 *
 * Measured on `glow-fmnist-small` training (batch 64, tfjs-wasm): see `scripts/bench-glow.ts`
 * and the package README.
 */
export interface Slot {
  /** The value as core's shapes describe it. */
  nchw?: tf.Tensor;
  /** Its channels-last twin (rank-4 values only). */
  nhwc?: tf.Tensor;
}

export const NCHW_TO_NHWC = [0, 2, 3, 1];
export const NHWC_TO_NCHW = [0, 3, 1, 2];
const OIHW_TO_HWIO = [2, 3, 1, 0];

/** Core's conv2d (filter `[O, I, kh, kw]`, pads top, left, bottom, right) on a channels-last input, giving channels-last. */
export function conv2dChannelsLast(x: tf.Tensor, w: tf.Tensor, pads: readonly [number, number, number, number]): tf.Tensor {
  const [top, left, bottom, right] = pads;
  // tidy: the transposed filter is freed here, not left to the caller's scope.
  return tf.tidy(() => tf.conv2d(x as tf.Tensor4D, tf.transpose(w, OIHW_TO_HWIO) as tf.Tensor4D, 1, [[0, 0], [top, bottom], [left, right], [0, 0]]));
}

/**
 * Core's conv2dWeightGrad (`[Cout, Cin, kh, kw]`) as one tfjs conv2d, the batch as the contracted
 * channel axis: x as images `[Cin, H, W, N]` convolved with dy as the filter `[oh, ow, N, Cout]`
 * under conv2d's pads gives `[Cin, kh, kw, Cout]`. Differentiable through tfjs' Conv2D gradient
 * (on tfjs-wasm: this package's Conv2DBackpropFilter/Input kernels).
 */
export function conv2dWeightGradOf(xImages: tf.Tensor, dyFilter: tf.Tensor, pads: readonly [number, number, number, number]): tf.Tensor {
  const [top, left, bottom, right] = pads;
  return tf.tidy(() => tf.transpose(tf.conv2d(xImages as tf.Tensor4D, dyFilter as tf.Tensor4D, 1, [[0, 0], [top, bottom], [left, right], [0, 0]]), [3, 0, 1, 2]));
}

/** The NCHW tensor of a slot, transposing the twin back once if that is all there is. */
export function nchwOf(slot: Slot): tf.Tensor {
  if (!slot.nchw) slot.nchw = tf.transpose(slot.nhwc!, NHWC_TO_NCHW);
  return slot.nchw;
}

/** The NHWC twin of a rank-4 slot, made once on demand. */
export function nhwcOf(slot: Slot): tf.Tensor {
  if (!slot.nhwc) slot.nhwc = tf.transpose(slot.nchw!, NCHW_TO_NHWC);
  return slot.nhwc;
}

const UNARY = {
  neg: tf.neg,
  exp: tf.exp,
  log: tf.log,
  tanh: tf.tanh,
  sigmoid: tf.sigmoid,
  relu: tf.relu,
  sqrt: tf.sqrt,
  abs: tf.abs,
  erf: tf.erf,
} as const satisfies Partial<Record<Node['op'], (x: tf.Tensor) => tf.Tensor>>;

const BINARY = {
  add: tf.add,
  sub: tf.sub,
  mul: tf.mul,
  div: tf.div,
  maximum: tf.maximum,
} as const satisfies Partial<Record<Node['op'], (a: tf.Tensor, b: tf.Tensor) => tf.Tensor>>;

const isUnary = (op: Node['op']): op is keyof typeof UNARY => op in UNARY;
const isBinary = (op: Node['op']): op is keyof typeof BINARY => op in BINARY;

/** Twin-only: the value exists only channels-last (a convolution's output, or one derived from it). */
const twinOnly = (s: Slot) => s.nhwc !== undefined && s.nchw === undefined;

/**
 * The operand of a binary op in channels-last form, when that needs no transpose: the twin of
 * a rank-4 value, or a per-channel / scalar operand (NCHW shape with 1 in
 * every spatial and batch position, e.g. a bias reshaped to [C, 1, 1]) reshaped to [C].
 */
function channelsLastOperand(slot: Slot): tf.Tensor | undefined {
  if (slot.nhwc) return slot.nhwc;
  const t = slot.nchw!;
  const padded = [...Array<number>(4 - t.rank).fill(1), ...t.shape];
  if (padded.length !== 4 || padded[0] !== 1 || padded[2] !== 1 || padded[3] !== 1) return undefined;
  return t.rank <= 1 ? t : tf.reshape(t, [padded[1]!]);
}

/**
 * Lowers `node` channels-last when it is a convolution, a filter gradient of twins (read
 * without transposing them back), or an elementwise op on a twin-only value; returns undefined when the node must run on NCHW tensors (the generic lowering).
 */
export function lowerChannelsLast(node: Node, ins: readonly Slot[]): Slot | undefined {
  if (node.op === 'conv2d') return { nhwc: conv2dChannelsLast(nhwcOf(ins[0]!), nchwOf(ins[1]!), (node as NodeOf<'conv2d'>).attrs.pads) };
  if (node.op === 'conv2dWeightGrad' && (ins[0]!.nhwc || ins[1]!.nhwc)) {
    // One transpose per operand from whichever layout it has; the result is a filter (NCHW-shaped).
    const [x, dy] = ins as [Slot, Slot];
    return {
      nchw: tf.tidy(() =>
        conv2dWeightGradOf(
          x.nhwc ? tf.transpose(x.nhwc, [3, 1, 2, 0]) : tf.transpose(x.nchw!, [1, 2, 3, 0]),
          dy.nhwc ? tf.transpose(dy.nhwc, [1, 2, 0, 3]) : tf.transpose(dy.nchw!, [2, 3, 0, 1]),
          (node as NodeOf<'conv2dWeightGrad'>).attrs.pads,
        ),
      ),
    };
  }
  if (isUnary(node.op) && twinOnly(ins[0]!)) return { nhwc: UNARY[node.op](ins[0]!.nhwc!) };
  if (isBinary(node.op) && node.shape.length === 4 && (twinOnly(ins[0]!) || twinOnly(ins[1]!))) {
    const op = BINARY[node.op];
    const out = tf.tidy(() => {
      const a = channelsLastOperand(ins[0]!);
      const b = channelsLastOperand(ins[1]!);
      return a && b ? op(a, b) : undefined;
    });
    if (out) return { nhwc: out };
  }
  return undefined;
}
