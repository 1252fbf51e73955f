import * as tf from '@tensorflow/tfjs-core';

/**
 * Kernels the tfjs wasm backend (4.22) lacks or runs far too slowly for training, written
 * as compositions of the kernels it has (XNNPACK convolution and matmul, transpose,
 * reverse, gather), never as a JavaScript loop over the elements:
 *
 * - `Conv2DBackpropFilter` (missing; the gradient of conv2d w.r.t. its filter). With
 *   x [N,H,W,Ci] and dy [N,OH,OW,Co],
 *   dW[ky,kx,ci,co] = Σ_{n,oy,ox} x[n, oy+ky−top, ox+kx−left, ci] · dy[n,oy,ox,co],
 *   a product over M = N·OH·OW positions, computed one of three ways by shape (measured on
 *   Glow's shapes; XNNPACK is slow when the product's output side is narrow):
 *   1×1 filters: xᵀ [Ci,M] · dy [M,Co], one matmul;
 *   few input channels (Ci ≤ 8): im2col, transposed — the padded x shifted by each filter
 *   offset, stacked into [kh·kw·Ci, M] — times dy [M,Co], one matmul;
 *   otherwise: conv2d(xᵀ [Ci,H,W,N], dyᵀ [OH,OW,N,Co]) with the forward padding, giving
 *   [Ci,kh,kw,Co], transposed to [kh,kw,Ci,Co].
 * - `Conv2DBackpropInput` (present, but a scalar C++ loop: ~10× slower than the forward
 *   conv) — the transposed convolution as a conv2d of dy with the spatially flipped,
 *   in/out-swapped filter and padding (kh−1−top, kw−1−left, kh−1−bottom, kw−1−right).
 * - `BatchMatMul` with `transposeA`/`transposeB` (present, but a slow path ~10× slower
 *   than the plain product; every matmul gradient uses it) — transpose first, then the
 *   XNNPACK product.
 * - `Sum` over leading axes (present, but it transposes the reduced axes innermost first:
 *   2.8 ms for a [64,14,14,64] bias gradient) — XNNPACK's average pooling of x seen as an
 *   image [1, outer, 1, inner] with a window of the whole height, times `outer` (0.5 ms).
 *   Not a product with ones: XNNPACK packs a product's right operand afresh for every new
 *   tensor (9 ms here). Other reductions keep the backend's kernel.
 * - `UnsortedSegmentSum` (missing; the gradient of gather) — a gather with the inverse
 *   permutation when the segment ids are a permutation (the reorderings flows use), else
 *   a product with the one-hot matrix of the ids.
 *
 * Cases outside what core graphs emit (strides or dilations other than 1) fall back to
 * the backend's own kernel where it has one, else fail with a message naming the kernel.
 */

type Info = tf.TensorInfo;
type Backend = tf.KernelBackend;
type Attrs = tf.NamedAttrMap;

const WASM = 'wasm';

function kernel(name: string): tf.KernelConfig {
  const k = tf.getKernel(name, WASM);
  if (!k) throw new Error(`tfjs-wasm: kernel ${name} is not registered (is @tensorflow/tfjs-backend-wasm loaded?)`);
  return k;
}

function call(name: string, backend: Backend, inputs: Record<string, Info>, attrs: Attrs = {}): Info {
  return kernel(name).kernelFunc({ inputs, backend, attrs }) as Info;
}

function free(backend: Backend, ...infos: Info[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

/** A new tensor holding `values` (the wasm backend has no `makeTensorInfo`). */
function upload(backend: Backend, shape: number[], dtype: 'float32' | 'int32', values: Float32Array | Int32Array): Info {
  return { dataId: backend.write(values, shape, dtype), shape, dtype };
}

function transpose(backend: Backend, x: Info, perm: number[]): Info {
  return call(tf.Transpose, backend, { x }, { perm });
}

function isUnitStride(strides: number | [number, number], dilations: number | [number, number] = 1): boolean {
  const s = typeof strides === 'number' ? [strides, strides] : strides;
  const d = typeof dilations === 'number' ? [dilations, dilations] : dilations;
  return s[0] === 1 && s[1] === 1 && d[0] === 1 && d[1] === 1;
}

function conv2dBackpropFilter(backend: Backend, inputs: { x: Info; dy: Info }, attrs: tf.Conv2DBackpropFilterAttrs): Info {
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (!isUnitStride(strides) || dataFormat === 'NCHW') {
    throw new Error(`tfjs-wasm Conv2DBackpropFilter: only stride 1 and NHWC are implemented (got strides ${String(strides)}, ${dataFormat})`);
  }
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
  const { top, bottom, left, right } = info.padInfo;
  const [kh, kw, ci, co] = filterShape;
  const [n, oh, ow] = dy.shape as [number, number, number, number];
  const m = n * oh * ow;
  if (kh === 1 && kw === 1 && top + bottom + left + right === 0) {
    const x2 = call(tf.Reshape, backend, { x }, { shape: [m, ci] });
    const xT = transpose(backend, x2, [1, 0]);
    const dy2 = call(tf.Reshape, backend, { x: dy }, { shape: [m, co] });
    const w = call(tf.BatchMatMul, backend, { a: xT, b: dy2 }, { transposeA: false, transposeB: false });
    const out = call(tf.Reshape, backend, { x: w }, { shape: filterShape });
    free(backend, x2, xT, dy2, w);
    return out;
  }
  if (ci <= 8) {
    const padded = call(tf.PadV2, backend, { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 });
    const xT = transpose(backend, padded, [3, 0, 1, 2]);
    const dy2 = call(tf.Reshape, backend, { x: dy }, { shape: [m, co] });
    // im2col, transposed: rows (ky, kx, ci), columns the M positions; then one product.
    const parts: Info[] = [];
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const shifted = call(tf.Slice, backend, { x: xT }, { begin: [0, 0, ky, kx], size: [ci, n, oh, ow] });
        parts.push(call(tf.Reshape, backend, { x: shifted }, { shape: [ci, m] }));
        free(backend, shifted);
      }
    }
    // Concat takes its inputs as an array (as tf.concat passes them).
    const patches = call(tf.Concat, backend, parts as unknown as Record<string, Info>, { axis: 0 });
    const w = call(tf.BatchMatMul, backend, { a: patches, b: dy2 }, { transposeA: false, transposeB: false });
    const out = call(tf.Reshape, backend, { x: w }, { shape: filterShape });
    free(backend, padded, xT, dy2, patches, w, ...parts);
    return out;
  }
  const xT = transpose(backend, x, [3, 1, 2, 0]);
  const dyT = transpose(backend, dy, [1, 2, 0, 3]);
  const padding = [[0, 0], [top, bottom], [left, right], [0, 0]] as tf.backend_util.ExplicitPadding;
  const w = call(tf.Conv2D, backend, { x: xT, filter: dyT }, { strides: 1, pad: padding, dataFormat: 'NHWC', dilations: 1 });
  const out = transpose(backend, w, [1, 2, 0, 3]);
  free(backend, xT, dyT, w);
  return out;
}

function conv2dBackpropInput(original: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: Backend; attrs?: Attrs }): Info => {
    const { dy, filter } = args.inputs as { dy: Info; filter: Info };
    const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
    if (!isUnitStride(strides) || dataFormat === 'NCHW') return original(args) as Info;
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const { filterHeight: kh, filterWidth: kw } = info;
    const { top, bottom, left, right } = info.padInfo;
    const pads = [kh - 1 - top, kw - 1 - left, kh - 1 - bottom, kw - 1 - right];
    if (pads.some((p) => p < 0)) return original(args) as Info;
    const backend = args.backend;
    const flipped = call(tf.Reverse, backend, { x: filter }, { dims: [0, 1] });
    const swapped = transpose(backend, flipped, [0, 1, 3, 2]);
    const padding = [[0, 0], [pads[0]!, pads[2]!], [pads[1]!, pads[3]!], [0, 0]] as tf.backend_util.ExplicitPadding;
    const dx = call(tf.Conv2D, backend, { x: dy, filter: swapped }, { strides: 1, pad: padding, dataFormat: 'NHWC', dilations: 1 });
    free(backend, flipped, swapped);
    return dx;
  };
}

/** Below this many multiply-adds the slow transposed path is cheaper than a transpose. */
const TRANSPOSE_FIRST_MACS = 1 << 16;

function batchMatMul(original: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: Backend; attrs?: Attrs }): Info => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    const k = transposeA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!;
    const macs = (tf.util.sizeFromShape(a.shape) / k) * b.shape[transposeB ? b.shape.length - 2 : b.shape.length - 1]! * k;
    if ((!transposeA && !transposeB) || macs < TRANSPOSE_FIRST_MACS) return original(args) as Info;
    const backend = args.backend;
    const swapLast = (x: Info) => transpose(backend, x, [...x.shape.keys()].map((i, _, all) => (i === all.length - 2 ? i + 1 : i === all.length - 1 ? i - 1 : i)));
    const a2 = transposeA ? swapLast(a) : a;
    const b2 = transposeB ? swapLast(b) : b;
    const out = original({ ...args, inputs: { a: a2, b: b2 }, attrs: { ...args.attrs, transposeA: false, transposeB: false } }) as Info;
    if (transposeA) free(backend, a2);
    if (transposeB) free(backend, b2);
    return out;
  };
}

function unsortedSegmentSum(backend: Backend, inputs: { x: Info; segmentIds: Info }, attrs: tf.UnsortedSegmentSumAttrs): Info {
  const { x, segmentIds } = inputs;
  const { numSegments } = attrs;
  if (segmentIds.shape.length !== 1) throw new Error(`tfjs-wasm UnsortedSegmentSum: only 1-D segment ids are implemented (got shape [${segmentIds.shape.join(', ')}])`);
  const ids = backend.readSync(segmentIds.dataId) as Int32Array;
  const len = ids.length;
  const rest = x.shape.slice(1);
  const seen = new Uint8Array(numSegments);
  let permutation = len === numSegments;
  for (let i = 0; i < len && permutation; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments || seen[s]) permutation = false;
    else seen[s] = 1;
  }
  if (permutation) {
    // out[ids[i]] = x[i]  <=>  out = x[inverse(ids)]
    const inverse = new Int32Array(numSegments);
    for (let i = 0; i < len; i++) inverse[ids[i]!] = i;
    const idx = upload(backend, [numSegments], 'int32', inverse);
    const out = call(tf.GatherV2, backend, { x, indices: idx }, { axis: 0, batchDims: 0 });
    free(backend, idx);
    return out;
  }
  // out = onehot(ids)ᵀ x: a [S, L] x [L, R] product (ids out of range drop out, as in TensorFlow).
  const oneHot = new Float32Array(numSegments * len);
  for (let i = 0; i < len; i++) {
    const s = ids[i]!;
    if (s >= 0 && s < numSegments) oneHot[s * len + i] = 1;
  }
  const r = tf.util.sizeFromShape(rest);
  const m = upload(backend, [1, numSegments, len], 'float32', oneHot);
  const x3 = call(tf.Reshape, backend, { x }, { shape: [1, len, r] });
  const prod = call(tf.BatchMatMul, backend, { a: m, b: x3 }, { transposeA: false, transposeB: false });
  const out = call(tf.Reshape, backend, { x: prod }, { shape: [numSegments, ...rest] });
  free(backend, m, x3, prod);
  return out;
}

function sumLeadingAxes(original: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: Backend; attrs?: Attrs }): Info => {
    const { x } = args.inputs as { x: Info };
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const k = axes.length;
    const leading = k > 0 && k < rank && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return original(args) as Info;
    const backend = args.backend;
    const outer = tf.util.sizeFromShape(x.shape.slice(0, k));
    const inner = tf.util.sizeFromShape(x.shape.slice(k));
    // x as an NHWC image [1, outer, 1, inner], averaged over a window of the whole height.
    const image = call(tf.Reshape, backend, { x }, { shape: [1, outer, 1, inner] });
    const mean = call(tf.AvgPool, backend, { x: image }, { filterSize: [outer, 1], strides: 1, pad: 'valid' });
    const count = upload(backend, [], 'float32', Float32Array.of(outer));
    const total = call(tf.Multiply, backend, { a: mean, b: count });
    const shape = keepDims ? [...Array<number>(k).fill(1), ...x.shape.slice(k)] : x.shape.slice(k);
    const out = call(tf.Reshape, backend, { x: total }, { shape });
    free(backend, image, mean, count, total);
    return out;
  };
}

let registered = false;

/**
 * Registers the kernels above for the `wasm` backend (idempotent). Call before or after
 * the backend starts; replaced kernels keep their original setup function.
 */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  const replace = (name: string, make: (original: tf.KernelFunc) => tf.KernelFunc) => {
    const original = kernel(name);
    tf.unregisterKernel(name, WASM);
    tf.registerKernel({ ...original, kernelFunc: make(original.kernelFunc) });
  };
  const add = (name: string, kernelFunc: tf.KernelFunc) => {
    if (!tf.getKernel(name, WASM)) tf.registerKernel({ kernelName: name, backendName: WASM, kernelFunc });
  };
  add(tf.Conv2DBackpropFilter, ({ inputs, backend, attrs }) =>
    conv2dBackpropFilter(backend as Backend, inputs as { x: Info; dy: Info }, attrs as unknown as tf.Conv2DBackpropFilterAttrs));
  add(tf.UnsortedSegmentSum, ({ inputs, backend, attrs }) =>
    unsortedSegmentSum(backend as Backend, inputs as { x: Info; segmentIds: Info }, attrs as unknown as tf.UnsortedSegmentSumAttrs));
  replace(tf.Conv2DBackpropInput, (o) => conv2dBackpropInput(o) as tf.KernelFunc);
  replace(tf.BatchMatMul, (o) => batchMatMul(o) as tf.KernelFunc);
  replace(tf.Sum, (o) => sumLeadingAxes(o) as tf.KernelFunc);
}
