import { formatShape, type DType, type Dim, type Shape } from '../tensor.js';
import type { Node, NodeOf, PrimitiveAttrs, PrimitiveName, ReducePrimitive, UnaryPrimitive } from './primitives.js';

/**
 * A graph of primitives: plain data (JSON-serialisable), nodes in topological order.
 * `inputs` and `outputs` map names to node ids; `params` maps parameter names to their shapes.
 */
export interface Graph {
  readonly nodes: readonly Node[];
  readonly inputs: Readonly<Record<string, number>>;
  readonly outputs: Readonly<Record<string, number>>;
  readonly params: Readonly<Record<string, Shape>>;
}

/** A handle on a value being built: the id of the node that produces it, with its shape and dtype. */
export interface Value {
  readonly id: number;
  readonly shape: Shape;
  readonly dtype: DType;
  /** True when the value depends on no graph input (only on parameters and constants). */
  readonly paramOnly: boolean;
}

export class GraphError extends Error {
  override name = 'GraphError';
}

function fail(op: string, inputs: readonly Value[], expected: string): never {
  const got = inputs.map((v) => `${formatShape(v.shape)}:${v.dtype}`).join(', ');
  throw new GraphError(`${op}: inputs (${got}) — expected ${expected}`);
}

function broadcastDim(a: Dim, b: Dim): Dim | undefined {
  if (a === b) return a;
  if (a === 1) return b;
  if (b === 1) return a;
  return undefined;
}

/** NumPy broadcasting of two shapes, with `'N'` broadcasting only against itself or 1. */
export function broadcastShapes(a: Shape, b: Shape): Dim[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = new Array<Dim>(rank);
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)]!;
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)]!;
    const d = broadcastDim(da, db);
    if (d === undefined) return undefined;
    out[i] = d;
  }
  return out;
}

function staticSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) if (d !== 'N') n *= d;
  return n;
}

function normAxis(axis: number, rank: number, op: string, inputs: Value[]): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) fail(op, inputs, `an axis in [${-rank}, ${rank}), got ${axis}`);
  return a;
}

/**
 * Builds a {@link Graph}, checking shapes and dtypes as each node is added. Errors name the
 * op, the inputs' shapes and what was expected.
 */
export class GraphBuilder {
  private readonly nodes: Node[] = [];
  private readonly inputIds: Record<string, number> = {};
  private readonly outputIds: Record<string, number> = {};
  private readonly paramShapes: Record<string, Shape> = {};
  private readonly paramCache = new Map<string, Value>();

  private push<K extends PrimitiveName>(
    op: K,
    inputs: readonly Value[],
    attrs: PrimitiveAttrs[K],
    shape: Shape,
    dtype: DType,
    paramOnly = inputs.every((v) => v.paramOnly),
  ): Value {
    for (const v of inputs) {
      if (this.nodes[v.id] === undefined || this.nodes[v.id]!.shape !== v.shape) {
        throw new GraphError(`${op}: an input value (id ${v.id}) does not belong to this graph`);
      }
    }
    const id = this.nodes.length;
    const node = { id, op, inputs: inputs.map((v) => v.id), attrs, shape: [...shape], dtype } as NodeOf<K>;
    this.nodes.push(node as Node);
    return { id, shape: node.shape, dtype, paramOnly };
  }

  // ---- leaves -------------------------------------------------------------------------

  input(name: string, shape: Shape): Value {
    if (name in this.inputIds) throw new GraphError(`input: a graph input named '${name}' exists already`);
    for (const [i, d] of shape.entries()) {
      if (d === 'N' ? i !== 0 : !(Number.isInteger(d) && d > 0)) {
        throw new GraphError(`input '${name}': shape ${formatShape(shape)} — expected positive integers, with 'N' only first`);
      }
    }
    const v = this.push('input', [], { name }, shape, 'float32', false);
    this.inputIds[name] = v.id;
    return v;
  }

  /** A named parameter; asking twice for the same name returns the same value. */
  param(name: string, shape: Shape): Value {
    const known = this.paramShapes[name];
    if (known !== undefined) {
      if (formatShape(known) !== formatShape(shape)) {
        throw new GraphError(`param '${name}': declared as ${formatShape(known)}, asked for as ${formatShape(shape)}`);
      }
      return this.paramCache.get(name)!;
    }
    if (shape.includes('N')) throw new GraphError(`param '${name}': shape ${formatShape(shape)} — parameters have no batch dimension`);
    this.paramShapes[name] = [...shape];
    const v = this.push('param', [], { name }, shape, 'float32', true);
    this.paramCache.set(name, v);
    return v;
  }

  constant(values: ArrayLike<number>, shape: readonly number[] = [values.length]): Value {
    if (staticSize(shape) !== values.length) {
      throw new GraphError(`constant: ${values.length} values for shape ${formatShape(shape)}`);
    }
    return this.push('constant', [], { values: Array.from(values) }, shape, 'float32', true);
  }

  scalar(value: number): Value {
    return this.constant([value], []);
  }

  // ---- elementwise --------------------------------------------------------------------

  private unary(op: UnaryPrimitive, x: Value): Value {
    if (x.dtype !== 'float32') fail(op, [x], 'a float32 tensor');
    return this.push(op, [x], {}, x.shape, 'float32');
  }
  neg(x: Value) { return this.unary('neg', x); }
  exp(x: Value) { return this.unary('exp', x); }
  log(x: Value) { return this.unary('log', x); }
  tanh(x: Value) { return this.unary('tanh', x); }
  sigmoid(x: Value) { return this.unary('sigmoid', x); }
  relu(x: Value) { return this.unary('relu', x); }
  sqrt(x: Value) { return this.unary('sqrt', x); }
  abs(x: Value) { return this.unary('abs', x); }
  erf(x: Value) { return this.unary('erf', x); }

  private binary(op: 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'less' | 'greaterEqual', a: Value, b: Value): Value {
    if (a.dtype !== 'float32' || b.dtype !== 'float32') fail(op, [a, b], 'two float32 tensors');
    const shape = broadcastShapes(a.shape, b.shape);
    if (!shape) fail(op, [a, b], 'broadcast-compatible shapes');
    const dtype: DType = op === 'less' || op === 'greaterEqual' ? 'bool' : 'float32';
    return this.push(op, [a, b], {}, shape, dtype);
  }
  add(a: Value, b: Value) { return this.binary('add', a, b); }
  sub(a: Value, b: Value) { return this.binary('sub', a, b); }
  mul(a: Value, b: Value) { return this.binary('mul', a, b); }
  div(a: Value, b: Value) { return this.binary('div', a, b); }
  maximum(a: Value, b: Value) { return this.binary('maximum', a, b); }
  less(a: Value, b: Value) { return this.binary('less', a, b); }
  greaterEqual(a: Value, b: Value) { return this.binary('greaterEqual', a, b); }

  where(cond: Value, a: Value, b: Value): Value {
    if (cond.dtype !== 'bool' || a.dtype !== 'float32' || b.dtype !== 'float32') {
      fail('where', [cond, a, b], '(bool, float32, float32)');
    }
    const ab = broadcastShapes(a.shape, b.shape);
    const shape = ab && broadcastShapes(cond.shape, ab);
    if (!shape) fail('where', [cond, a, b], 'broadcast-compatible shapes');
    return this.push('where', [cond, a, b], {}, shape, 'float32');
  }

  // ---- reductions ---------------------------------------------------------------------

  private reduce(op: ReducePrimitive, x: Value, axes: readonly number[], keepDims: boolean): Value {
    if (x.dtype !== 'float32') fail(op, [x], 'a float32 tensor');
    const norm = [...new Set(axes.map((a) => normAxis(a, x.shape.length, op, [x])))].sort((p, q) => p - q);
    if (norm.length !== axes.length) fail(op, [x], `distinct axes, got [${axes.join(', ')}]`);
    const shape: Dim[] = [];
    x.shape.forEach((d, i) => {
      if (!norm.includes(i)) shape.push(d);
      else if (keepDims) shape.push(1);
    });
    return this.push(op, [x], { axes: norm, keepDims }, shape, 'float32');
  }
  sum(x: Value, axes: readonly number[], keepDims = false) { return this.reduce('sum', x, axes, keepDims); }
  mean(x: Value, axes: readonly number[], keepDims = false) { return this.reduce('mean', x, axes, keepDims); }
  max(x: Value, axes: readonly number[], keepDims = false) { return this.reduce('max', x, axes, keepDims); }

  // ---- linear algebra -----------------------------------------------------------------

  /** Batched matrix product: `[..., M, K] x [..., K, P] -> [..., M, P]`, batch dimensions broadcast. */
  matmul(a: Value, b: Value): Value {
    if (a.shape.length < 2 || b.shape.length < 2 || a.dtype !== 'float32' || b.dtype !== 'float32') {
      fail('matmul', [a, b], 'two float32 tensors of rank >= 2');
    }
    const [m, k1] = a.shape.slice(-2) as [Dim, Dim];
    const [k2, p] = b.shape.slice(-2) as [Dim, Dim];
    if (k1 !== k2 || k1 === 'N') fail('matmul', [a, b], `inner dimensions to agree (${k1} vs ${k2})`);
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    if (!batch) fail('matmul', [a, b], 'broadcast-compatible batch dimensions');
    const shape = [...batch, m, p];
    if (shape.filter((d) => d === 'N').length > 1 || (shape.includes('N') && shape[0] !== 'N')) {
      fail('matmul', [a, b], "the batch dimension 'N' only as the leading dimension of the result");
    }
    return this.push('matmul', [a, b], {}, shape, 'float32');
  }

  /** 2-D convolution, NCHW input `[N, Cin, H, W]`, weight `[Cout, Cin, kh, kw]`, stride 1. */
  conv2d(x: Value, w: Value, pads: [number, number, number, number]): Value {
    if (x.shape.length !== 4 || w.shape.length !== 4 || w.shape.includes('N')) {
      fail('conv2d', [x, w], 'x [N, Cin, H, W] and w [Cout, Cin, kh, kw]');
    }
    const [n, cin, h, wd] = x.shape as [Dim, number, number, number];
    const [cout, cin2, kh, kw] = w.shape as [number, number, number, number];
    if (cin !== cin2) fail('conv2d', [x, w], `w's input channels (${cin2}) to equal x's channels (${cin})`);
    if (!pads.every((p) => Number.isInteger(p) && p >= 0)) fail('conv2d', [x, w], `non-negative integer pads, got [${pads.join(', ')}]`);
    const oh = h + pads[0] + pads[2] - kh + 1;
    const ow = wd + pads[1] + pads[3] - kw + 1;
    if (oh < 1 || ow < 1) fail('conv2d', [x, w], 'a kernel no larger than the padded input');
    return this.push('conv2d', [x, w], { pads: [...pads] }, [n, cout, oh, ow], 'float32');
  }

  /**
   * The filter gradient of {@link conv2d}: x `[N, Cin, H, W]` and the output cotangent dy
   * `[N, Cout, oh, ow]` of `conv2d(x, w, pads)` with a `kernel` = [kh, kw] filter give
   * `[Cout, Cin, kh, kw]` = Σₙ Σ_{p,q} xpad[n, ci, p+i, q+j] · dy[n, co, p, q] (summed over the batch).
   */
  conv2dWeightGrad(x: Value, dy: Value, pads: [number, number, number, number], kernel: [number, number]): Value {
    const op = 'conv2dWeightGrad';
    if (x.shape.length !== 4 || dy.shape.length !== 4 || x.dtype !== 'float32' || dy.dtype !== 'float32') {
      fail(op, [x, dy], 'float32 x [N, Cin, H, W] and dy [N, Cout, oh, ow]');
    }
    const [n, cin, h, wd] = x.shape as [Dim, number, number, number];
    const [n2, cout, oh, ow] = dy.shape as [Dim, number, number, number];
    if (n !== n2) fail(op, [x, dy], `the same batch dimension (${n} vs ${n2})`);
    if (x.shape.slice(1).includes('N') || dy.shape.slice(1).includes('N')) fail(op, [x, dy], "the batch dimension 'N' only first");
    if (!pads.every((p) => Number.isInteger(p) && p >= 0)) fail(op, [x, dy], `non-negative integer pads, got [${pads.join(', ')}]`);
    if (kernel.length !== 2 || !kernel.every((k) => Number.isInteger(k) && k >= 1)) fail(op, [x, dy], `a kernel [kh, kw] of positive integers, got [${kernel.join(', ')}]`);
    const [kh, kw] = kernel;
    if (h + pads[0] + pads[2] - kh + 1 !== oh || wd + pads[1] + pads[3] - kw + 1 !== ow) {
      fail(op, [x, dy], `dy's spatial size to be conv2d's output for a ${kh}×${kw} kernel and pads [${pads.join(', ')}]: [${h + pads[0] + pads[2] - kh + 1}, ${wd + pads[1] + pads[3] - kw + 1}]`);
    }
    return this.push(op, [x, dy], { pads: [...pads], kernel: [kh, kw] }, [cout, cin, kh, kw], 'float32');
  }

  /** log|det A| of a square matrix that depends on parameters only. */
  logAbsDet(a: Value): Value {
    this.checkSquareParamOnly('logAbsDet', a);
    return this.push('logAbsDet', [a], {}, [], 'float32');
  }

  /** A⁻¹ of a square matrix that depends on parameters only. */
  matrixInverse(a: Value): Value {
    this.checkSquareParamOnly('matrixInverse', a);
    return this.push('matrixInverse', [a], {}, a.shape, 'float32');
  }

  private checkSquareParamOnly(op: string, a: Value) {
    if (a.shape.length !== 2 || a.shape[0] !== a.shape[1] || a.dtype !== 'float32') fail(op, [a], 'a square float32 matrix [C, C]');
    if (!a.paramOnly) fail(op, [a], 'a value computed from parameters and constants only (no graph input)');
  }

  // ---- layout -------------------------------------------------------------------------

  /** Reshape; `'N'` may stand only first, and only where the input has it first too. */
  reshape(x: Value, shape: Shape): Value {
    const batched = x.shape[0] === 'N';
    const ok =
      shape.every((d, i) => (d === 'N' ? i === 0 : Number.isInteger(d) && d > 0)) &&
      (shape[0] === 'N') === batched &&
      staticSize(shape) === staticSize(x.shape) &&
      !x.shape.slice(1).includes('N');
    if (!ok) fail('reshape', [x], `a shape with the same size and batch dimension as the input, got ${formatShape(shape)}`);
    return this.push('reshape', [x], { shape: [...shape] }, shape, x.dtype);
  }

  transpose(x: Value, perm: readonly number[]): Value {
    const r = x.shape.length;
    if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
      fail('transpose', [x], `a permutation of 0..${r - 1}, got [${perm.join(', ')}]`);
    }
    if (x.shape.includes('N') && perm[0] !== 0) fail('transpose', [x], 'the batch dimension to stay first');
    return this.push('transpose', [x], { perm: [...perm] }, perm.map((p) => x.shape[p]!), x.dtype);
  }

  /** `x[..., start:end, ...]` along one axis (step 1). */
  slice(x: Value, axis: number, start: number, end: number): Value {
    const a = normAxis(axis, x.shape.length, 'slice', [x]);
    const d = x.shape[a]!;
    if (d === 'N') fail('slice', [x], 'a non-batch axis');
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end <= d && start < end)) {
      fail('slice', [x], `0 <= start < end <= ${d} on axis ${a}, got ${start}:${end}`);
    }
    const shape = [...x.shape];
    shape[a] = end - start;
    return this.push('slice', [x], { axis: a, start, end }, shape, x.dtype);
  }

  concat(xs: readonly Value[], axis: number): Value {
    if (xs.length === 0) throw new GraphError('concat: no inputs — expected at least one tensor');
    const first = xs[0]!;
    const a = normAxis(axis, first.shape.length, 'concat', [...xs]);
    let total = 0;
    for (const v of xs) {
      const same = v.shape.length === first.shape.length && v.shape.every((d, i) => i === a || d === first.shape[i]) && v.dtype === first.dtype;
      if (!same || v.shape[a] === 'N') fail('concat', [...xs], `equal shapes except on axis ${a} (not the batch axis)`);
      total += v.shape[a] as number;
    }
    const shape = [...first.shape];
    shape[a] = total;
    return this.push('concat', xs, { axis: a }, shape, first.dtype);
  }

  /** Picks entries along `axis` at fixed indices (permutations, reorderings). */
  gather(x: Value, axis: number, indices: readonly number[]): Value {
    const a = normAxis(axis, x.shape.length, 'gather', [x]);
    const d = x.shape[a]!;
    if (d === 'N' || indices.length === 0 || !indices.every((i) => Number.isInteger(i) && i >= 0 && i < d)) {
      fail('gather', [x], `a non-batch axis and indices in [0, ${d})`);
    }
    const shape = [...x.shape];
    shape[a] = indices.length;
    return this.push('gather', [x], { axis: a, indices: [...indices] }, shape, x.dtype);
  }

  /** Inclusive cumulative sum along a non-batch axis. */
  cumsum(x: Value, axis: number): Value {
    const a = normAxis(axis, x.shape.length, 'cumsum', [x]);
    if (x.shape[a] === 'N' || x.dtype !== 'float32') fail('cumsum', [x], 'a float32 tensor and a non-batch axis');
    return this.push('cumsum', [x], { axis: a }, x.shape, 'float32');
  }

  // ---- control ------------------------------------------------------------------------

  /**
   * Runs `body` `count` times: `state <- body(state, ...invariants)`. `build` receives a fresh
   * builder with inputs `state` and `inv0..` of the same shapes and returns the new state.
   */
  loop(count: number, state: Value, invariants: readonly Value[], build: (b: GraphBuilder, state: Value, inv: Value[]) => Value): Value {
    if (!Number.isInteger(count) || count < 1) fail('loop', [state], `a positive integer count, got ${count}`);
    const inner = new GraphBuilder();
    const s = inner.input('state', state.shape);
    const inv = invariants.map((v, i) => inner.inputLike(`inv${i}`, v));
    const out = build(inner, s, inv);
    if (formatShape(out.shape) !== formatShape(state.shape) || out.dtype !== state.dtype) {
      fail('loop', [state, out], 'a body whose new state has the shape of the state');
    }
    inner.output('state', out);
    const body = inner.build();
    for (const [name, shape] of Object.entries(body.params)) this.param(name, shape);
    return this.push('loop', [state, ...invariants], { count, body }, state.shape, state.dtype);
  }

  /** An input of the same shape as `v` (loop bodies; invariants may lack the batch dimension). */
  private inputLike(name: string, v: Value): Value {
    const val = this.push('input', [], { name }, v.shape, v.dtype, false);
    this.inputIds[name] = val.id;
    return val;
  }

  // ---- outputs ------------------------------------------------------------------------

  output(name: string, v: Value): void {
    if (name in this.outputIds) throw new GraphError(`output: a graph output named '${name}' exists already`);
    this.outputIds[name] = v.id;
  }

  build(): Graph {
    return {
      nodes: [...this.nodes],
      inputs: { ...this.inputIds },
      outputs: { ...this.outputIds },
      params: { ...this.paramShapes },
    };
  }
}
