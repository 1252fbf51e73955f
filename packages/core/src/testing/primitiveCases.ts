import type { ParamTensor } from '../flow/flow.js';
import { GraphBuilder, type Graph, type Value } from '../graph/graph.js';
import type { PrimitiveName } from '../graph/primitives.js';
import { Rng } from '../random.js';
import { sizeOf, type Tensor } from '../tensor.js';

/** One graph exercising one primitive, with its inputs and parameters. */
export interface PrimitiveCase {
  /** `primitive/<op>` or `primitive/<op>/<variant>`. */
  name: string;
  /** The primitives this case exercises beyond input/param/constant. */
  covers: PrimitiveName[];
  /** The batch size of its inputs (the `N` of every input). */
  batch: number;
  graph: Graph;
  inputs: Record<string, Tensor>;
  params: Record<string, ParamTensor>;
}

const BATCH = 3;

class CaseBuilder {
  readonly g = new GraphBuilder();
  readonly inputs: Record<string, Tensor> = {};
  readonly params: Record<string, ParamTensor> = {};
  private readonly rng: Rng;

  constructor(
    seed: number,
    readonly batch: number,
  ) {
    this.rng = new Rng(seed);
  }

  private values(n: number, lo: number, hi: number): Float64Array {
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * this.rng.uniform();
    return v;
  }

  input(name: string, shape: number[], lo = -2, hi = 2): Value {
    this.inputs[name] = { data: this.values(this.batch * sizeOf(shape), lo, hi), shape: [this.batch, ...shape] };
    return this.g.input(name, ['N', ...shape]);
  }

  param(name: string, shape: number[], lo = -1, hi = 1, values?: number[]): Value {
    this.params[name] = { data: Float32Array.from(values ?? this.values(sizeOf(shape), lo, hi)), shape };
    return this.g.param(name, shape);
  }

  done(name: string, covers: PrimitiveName[], out: Value): PrimitiveCase {
    this.g.output('y', out);
    // Float32 engines receive exactly the values the reference sees.
    for (const t of Object.values(this.inputs)) t.data = Float64Array.from(Float32Array.from(t.data));
    return { name: `primitive/${name}`, covers, batch: this.batch, graph: this.g.build(), inputs: this.inputs, params: this.params };
  }
}

type Def = [name: string, covers: PrimitiveName[], build: (c: CaseBuilder) => Value, batch?: number];

const DEFS: Def[] = [
  ['constant', [], (c) => c.g.add(c.input('x', [2, 3]), c.g.constant([1, -2, 3.5, 0.25, 5, -6], [2, 3]))],
  ['neg', ['neg'], (c) => c.g.neg(c.input('x', [4]))],
  ['exp', ['exp'], (c) => c.g.exp(c.input('x', [4], -3, 3))],
  ['log', ['log'], (c) => c.g.log(c.input('x', [4], 0.05, 5))],
  ['tanh', ['tanh'], (c) => c.g.tanh(c.input('x', [4], -4, 4))],
  ['sigmoid', ['sigmoid'], (c) => c.g.sigmoid(c.input('x', [4], -6, 6))],
  ['relu', ['relu'], (c) => c.g.relu(c.input('x', [6]))],
  ['sqrt', ['sqrt'], (c) => c.g.sqrt(c.input('x', [4], 0.01, 9))],
  ['abs', ['abs'], (c) => c.g.abs(c.input('x', [5]))],
  ['erf', ['erf'], (c) => c.g.erf(c.input('x', [6], -3.5, 3.5))],
  ['add/broadcast', ['add'], (c) => c.g.add(c.input('x', [3, 4]), c.param('b', [4]))],
  ['sub/broadcast', ['sub'], (c) => c.g.sub(c.param('b', [3, 1]), c.input('x', [3, 4]))],
  ['mul/broadcast', ['mul'], (c) => c.g.mul(c.input('x', [2, 3, 4]), c.param('s', [2, 1, 1]))],
  ['div', ['div'], (c) => c.g.div(c.input('x', [4]), c.input('y', [4], 0.5, 3))],
  ['maximum', ['maximum'], (c) => c.g.maximum(c.input('x', [6]), c.input('y', [6]))],
  ['where/less', ['less', 'where'], (c) => {
    const x = c.input('x', [6]);
    const y = c.input('y', [6]);
    return c.g.where(c.g.less(x, y), x, c.g.mul(y, c.g.scalar(10)));
  }],
  ['where/greaterEqual', ['greaterEqual', 'where'], (c) => {
    const x = c.input('x', [2, 3]);
    return c.g.where(c.g.greaterEqual(x, c.g.scalar(0)), c.g.exp(x), c.g.neg(x));
  }],
  ['sum/inner', ['sum'], (c) => c.g.sum(c.input('x', [2, 3, 4]), [1, 2])],
  ['sum/keepDims', ['sum'], (c) => c.g.sum(c.input('x', [2, 3, 4]), [2], true)],
  ['mean/batch-and-space', ['mean'], (c) => c.g.add(c.input('y', [2, 3, 3]), c.g.mean(c.input('x', [2, 3, 3]), [0, 2, 3], true))],
  ['max', ['max'], (c) => c.g.max(c.input('x', [3, 5]), [2])],
  ['matmul/dense', ['matmul'], (c) => c.g.matmul(c.input('x', [5]), c.param('w', [5, 3]))],
  ['matmul/batched', ['matmul'], (c) => c.g.matmul(c.input('a', [2, 3]), c.input('b', [3, 4]))],
  ['conv2d/3x3', ['conv2d'], (c) => c.g.conv2d(c.input('x', [3, 5, 5]), c.param('w', [4, 3, 3, 3]), [1, 1, 1, 1])],
  ['conv2d/1x1', ['conv2d'], (c) => c.g.conv2d(c.input('x', [4, 3, 3]), c.param('w', [4, 4, 1, 1]), [0, 0, 0, 0])],
  ['conv2d/asymmetric-pads', ['conv2d'], (c) => c.g.conv2d(c.input('x', [2, 4, 5]), c.param('w', [3, 2, 2, 3]), [0, 1, 1, 2])],
  ['reshape', ['reshape'], (c) => c.g.reshape(c.input('x', [2, 6]), ['N', 3, 4])],
  ['transpose/squeeze-rank6', ['reshape', 'transpose'], (c) => {
    const x = c.input('x', [2, 4, 4]);
    const r = c.g.reshape(x, ['N', 2, 2, 2, 2, 2]);
    return c.g.reshape(c.g.transpose(r, [0, 1, 3, 5, 2, 4]), ['N', 8, 2, 2]);
  }],
  ['transpose/rank4', ['transpose'], (c) => c.g.transpose(c.input('x', [2, 3, 4]), [0, 3, 1, 2])],
  ['slice', ['slice'], (c) => c.g.slice(c.input('x', [4, 6]), 2, 1, 4)],
  ['concat', ['concat'], (c) => c.g.concat([c.input('x', [2, 3]), c.input('y', [1, 3])], 1)],
  ['gather', ['gather'], (c) => c.g.gather(c.input('x', [5, 2]), 1, [4, 0, 3, 3, 1])],
  ['cumsum', ['cumsum'], (c) => c.g.cumsum(c.input('x', [2, 5]), 2)],
  ['logAbsDet+matrixInverse', ['logAbsDet', 'matrixInverse', 'matmul'], (c) => {
    const w = c.param('w', [3, 3], -1, 1, [1.5, 0.2, -0.3, 0.4, -1.2, 0.5, 0.1, 0.3, 0.9]);
    return c.g.add(c.g.matmul(c.input('x', [3]), c.g.matrixInverse(w)), c.g.logAbsDet(w));
  }],
  ['loop', ['loop', 'tanh', 'add', 'mul'], (c) => {
    const x = c.input('x', [4]);
    c.param('w', [4, 4], -0.5, 0.5);
    return c.g.loop(5, c.g.mul(x, c.g.scalar(0)), [x], (b, s, [inv]) => b.tanh(b.add(b.matmul(s, b.param('w', [4, 4])), inv!)));
  }],
  // Appended last, so the cases before keep their seeds. x [N, Cin, H, W] and dy [N, Cout, oh, ow] both inputs; the result [Cout, Cin, kh, kw] sums over N.
  ['conv2dWeightGrad/3x3', ['conv2dWeightGrad'], (c) => c.g.conv2dWeightGrad(c.input('x', [3, 5, 5]), c.input('dy', [4, 5, 5]), [1, 1, 1, 1], [3, 3])],
  ['conv2dWeightGrad/1x1', ['conv2dWeightGrad'], (c) => c.g.conv2dWeightGrad(c.input('x', [4, 3, 3]), c.input('dy', [2, 3, 3]), [0, 0, 0, 0], [1, 1])],
  ['conv2dWeightGrad/asymmetric-pads', ['conv2dWeightGrad'], (c) => c.g.conv2dWeightGrad(c.input('x', [3, 4, 5]), c.input('dy', [2, 4, 6]), [0, 1, 1, 2], [2, 3])],
  ['conv2dWeightGrad/batch-1', ['conv2dWeightGrad'], (c) => c.g.conv2dWeightGrad(c.input('x', [2, 4, 4]), c.input('dy', [3, 3, 4]), [1, 0, 0, 2], [3, 3]), 1],
  // Pads as large as the kernel: ONNX lowers this one through its Conv fallback.
  ['conv2dWeightGrad/pads-past-kernel', ['conv2dWeightGrad'], (c) => c.g.conv2dWeightGrad(c.input('x', [3, 3, 4]), c.input('dy', [2, 6, 4]), [2, 1, 2, 0], [2, 2])],
  ['conv2dWeightGrad/unpadded-3x3-batch-2', ['conv2dWeightGrad'], (c) => c.g.conv2dWeightGrad(c.input('x', [3, 5, 4]), c.input('dy', [2, 3, 2]), [0, 0, 0, 0], [3, 3]), 2],
];

/** The per-primitive conformance cases, inputs drawn from a fixed seed. */
export function primitiveCases(): PrimitiveCase[] {
  return DEFS.map(([name, covers, build, batch], i) => {
    const c = new CaseBuilder(1000 + i, batch ?? BATCH);
    return c.done(name, covers, build(c));
  });
}
