import { GraphBuilder, PRIMITIVES, type Graph, type ParamTensor, type PrimitiveName, type Tensor, type Value } from '@bijective/core';
import { describe, expect, test } from 'vitest';
import { AUTO_UNROLL_MAX_NODES } from '../src/lower.js';
import { onnx } from '../src/proto.js';
import { graphModel, randomParam, randomTensor, runOnOrt, runReferenceGraph, toleranceRatio, type TestEngine } from './helpers.js';

/**
 * Every primitive lowered to ONNX and run on ONNX Runtime, against core's float64
 * reference. Tolerance: float32 rounding of each op (~6e-8 relative) compounded over a few
 * ops and sums of at most ~30 terms, so 1e-5 relative with a 1e-6 floor is ~10× headroom,
 * while any wrong axis, pad, broadcast or index is off by O(1).
 */
const RTOL = 1e-5;
const ATOL = 1e-6;
const N = 3;

interface Case {
  name: string;
  covers: PrimitiveName[];
  inputs: Record<string, (number | 'N')[]>;
  params?: Record<string, number[]>;
  build(g: GraphBuilder, x: Record<string, Value>, p: (name: string) => Value): void;
  /** Scale of the random inputs (positive inputs for log/sqrt are taken via abs). */
  std?: number;
}

const cases: Case[] = [
  {
    name: 'input, param and constant',
    covers: ['input', 'param', 'constant'],
    inputs: { x: ['N', 4] },
    params: { w: [4] },
    build: (g, { x }, p) => g.output('y', g.add(g.mul(x!, p('w')), g.constant([1, 2, 3, 4], [4]))),
  },
  ...(['neg', 'exp', 'tanh', 'sigmoid', 'relu', 'abs', 'erf'] as const).map(
    (op): Case => ({ name: op, covers: [op], inputs: { x: ['N', 2, 5] }, std: 2, build: (g, { x }) => g.output('y', g[op](x!)) }),
  ),
  {
    name: 'log and sqrt of positive values',
    covers: ['log', 'sqrt'],
    inputs: { x: ['N', 6] },
    build: (g, { x }) => {
      const pos = g.add(g.abs(x!), g.scalar(0.1));
      g.output('log', g.log(pos));
      g.output('sqrt', g.sqrt(pos));
    },
  },
  {
    name: 'binary ops with broadcasting',
    covers: ['add', 'sub', 'mul', 'div', 'maximum'],
    inputs: { a: ['N', 3, 4], b: ['N', 1, 4] },
    params: { c: [3, 1] },
    build: (g, { a, b }, p) => {
      g.output('add', g.add(a!, b!));
      g.output('sub', g.sub(a!, p('c')));
      g.output('mul', g.mul(b!, p('c')));
      g.output('div', g.div(a!, g.add(g.abs(b!), g.scalar(0.5))));
      g.output('maximum', g.maximum(a!, b!));
    },
  },
  {
    name: 'comparisons and where (bool outputs too)',
    covers: ['less', 'greaterEqual', 'where'],
    inputs: { a: ['N', 5], b: ['N', 5] },
    build: (g, { a, b }) => {
      const lt = g.less(a!, b!);
      g.output('less', lt);
      g.output('ge', g.greaterEqual(a!, g.scalar(0)));
      g.output('where', g.where(lt, a!, g.mul(b!, g.scalar(2))));
    },
  },
  {
    name: 'reductions over axes, with and without keepDims',
    covers: ['sum', 'mean', 'max'],
    inputs: { x: ['N', 3, 4, 2] },
    build: (g, { x }) => {
      g.output('sum', g.sum(x!, [1, 3]));
      g.output('sumKeep', g.sum(x!, [2], true));
      g.output('sumNone', g.sum(x!, []));
      g.output('mean', g.mean(x!, [1, 2, 3]));
      g.output('meanKeep', g.mean(x!, [3], true));
      g.output('max', g.max(x!, [1]));
      g.output('maxKeep', g.max(x!, [2, 3], true));
    },
  },
  {
    name: 'matmul, plain and batched',
    covers: ['matmul'],
    inputs: { x: ['N', 2, 3, 4], y: ['N', 2, 4, 5] },
    params: { w: [4, 6] },
    build: (g, { x, y }, p) => {
      g.output('plain', g.matmul(x!, p('w')));
      g.output('batched', g.matmul(x!, y!));
    },
  },
  {
    // A dense layer's weight gradient as core's matmul rule writes it, Σₙ aₙ bₙᵀ: the emitter
    // lowers the sum over N of the outer products as one Gemm; a sum with keepDims, or of an
    // outer product read elsewhere too, stays a MatMul and a ReduceSum.
    name: 'sum over N of batched outer products: one Gemm; kept apart with keepDims or a second reader',
    covers: ['matmul', 'sum'],
    inputs: { a: ['N', 5], d: ['N', 3] },
    build: (g, { a, d }) => {
      const outer = () => g.matmul(g.reshape(a!, ['N', 5, 1]), g.reshape(d!, ['N', 1, 3]));
      g.output('fused', g.sum(outer(), [0]));
      g.output('keepDims', g.sum(outer(), [0], true));
      const shared = outer();
      g.output('shared', g.sum(shared, [0]));
      g.output('sharedTanh', g.tanh(shared));
    },
  },
  {
    name: 'conv2d with asymmetric padding',
    covers: ['conv2d'],
    inputs: { x: ['N', 3, 5, 6] },
    params: { w: [4, 3, 3, 2], w1: [2, 3, 1, 1] },
    build: (g, { x }, p) => {
      g.output('conv', g.conv2d(x!, p('w'), [1, 0, 2, 1]));
      g.output('conv1x1', g.conv2d(x!, p('w1'), [0, 0, 0, 0]));
    },
  },
  {
    // The emitter fuses add(conv2d, bias [Cout, 1, 1]) into the Conv's bias input (or the Sum of
    // the few-output-channel form), with the bias on either side; a conv2d read elsewhere too
    // keeps its own Add.
    name: 'conv2d + bias: fused in both conv forms and either operand order, kept apart when the conv is read twice',
    covers: ['conv2d', 'add'],
    inputs: { x: ['N', 8, 4, 5] },
    params: { w: [4, 8, 3, 3], wFew: [2, 8, 3, 3], wShared: [4, 8, 1, 1], b: [4, 1, 1], bFew: [2, 1, 1] },
    build: (g, { x }, p) => {
      g.output('fused', g.add(g.conv2d(x!, p('w'), [1, 1, 1, 1]), p('b')));
      g.output('fusedFewOut', g.add(p('bFew'), g.conv2d(x!, p('wFew'), [0, 1, 1, 0])));
      const shared = g.conv2d(x!, p('wShared'), [0, 0, 0, 0]);
      g.output('shared', g.add(shared, p('b')));
      g.output('sharedRelu', g.relu(shared));
    },
  },
  {
    // Each of the lowering's four forms: x's windows (Cin ≤ Cout), dy shifted per offset
    // (Cin > Cout), the 1×1 MatMul, and the Conv fallback for pads as large as the kernel.
    name: 'conv2dWeightGrad: asymmetric pads with Cin < Cout and Cin > Cout, unpadded 1×1, pads past the kernel',
    covers: ['conv2dWeightGrad'],
    inputs: { x: ['N', 3, 5, 6], dyWide: ['N', 4, 6, 6], dyNarrow: ['N', 2, 6, 6], dy1: ['N', 2, 5, 6], dyPast: ['N', 2, 6, 7] },
    build: (g, { x, dyWide, dyNarrow, dy1, dyPast }) => {
      // A 3×2 kernel with pads [1, 0, 2, 1] on 5×6 gives 6×6.
      g.output('wide', g.conv2dWeightGrad(x!, dyWide!, [1, 0, 2, 1], [3, 2]));
      g.output('narrow', g.conv2dWeightGrad(x!, dyNarrow!, [1, 0, 2, 1], [3, 2]));
      // A 2×2 kernel with pads [2, 0, 0, 2] (top and right as large as the kernel) gives 6×7.
      g.output('pastKernel', g.conv2dWeightGrad(x!, dyPast!, [2, 0, 0, 2], [2, 2]));
      g.output('grad1x1', g.conv2dWeightGrad(x!, dy1!, [0, 0, 0, 0], [1, 1]));
    },
  },
  {
    name: 'layout: reshape, transpose, slice, concat, gather, cumsum',
    covers: ['reshape', 'transpose', 'slice', 'concat', 'gather', 'cumsum'],
    inputs: { x: ['N', 2, 3, 4] },
    build: (g, { x }) => {
      g.output('reshape', g.reshape(x!, ['N', 4, 6]));
      g.output('transpose', g.transpose(x!, [0, 3, 1, 2]));
      g.output('slice', g.slice(x!, 3, 1, 3));
      g.output('concat', g.concat([x!, g.neg(x!)], 2));
      g.output('gather', g.gather(x!, 3, [3, 0, 0, 2]));
      g.output('cumsum', g.cumsum(x!, 2));
    },
  },
  {
    name: 'logAbsDet and matrixInverse of a parameter matrix',
    covers: ['logAbsDet', 'matrixInverse'],
    inputs: { x: ['N', 4] },
    params: { w: [4, 4] },
    build: (g, { x }, p) => {
      // W = I + 0.3·w keeps the matrix well conditioned.
      const eye = g.constant([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], [4, 4]);
      const wm = g.add(eye, g.mul(p('w'), g.scalar(0.3)));
      g.output('solved', g.matmul(x!, g.matrixInverse(wm)));
      g.output('plusLogDet', g.add(x!, g.logAbsDet(wm)));
    },
  },
  {
    name: 'loop: fixed-point iteration with an invariant and a parameter in the body',
    covers: ['loop'],
    inputs: { x: ['N', 3], c: ['N', 3] },
    params: { w: [3, 3] },
    build: (g, { x, c }) => {
      const out = g.loop(4, x!, [c!], (b, s, [inv]) => {
        const w = b.param('w', [3, 3]);
        // Masked weight: parameter-only inside the body, folded once.
        const masked = b.mul(w, b.constant([0, 1, 1, 0, 0, 1, 0, 0, 0], [3, 3]));
        return b.tanh(b.add(b.matmul(s, masked), inv!));
      });
      g.output('state', out);
    },
  },
];

function build(c: Case): { graph: Graph; params: Record<string, ParamTensor>; inputs: Record<string, Tensor> } {
  const g = new GraphBuilder();
  const xs: Record<string, Value> = {};
  const inputs: Record<string, Tensor> = {};
  let seed = 10;
  for (const [name, shape] of Object.entries(c.inputs)) {
    xs[name] = g.input(name, shape);
    inputs[name] = randomTensor(shape.map((d) => (d === 'N' ? N : d)), seed++, c.std ?? 1);
  }
  const params: Record<string, ParamTensor> = {};
  for (const [name, shape] of Object.entries(c.params ?? {})) params[name] = randomParam(shape, seed++);
  c.build(g, xs, (name) => g.param(name, c.params![name]!));
  return { graph: g.build(), params, inputs };
}

function opsOf(graph: Graph, into = new Set<string>()): Set<string> {
  for (const n of graph.nodes) {
    into.add(n.op);
    if (n.op === 'loop') opsOf(n.attrs.body, into);
  }
  return into;
}

test('the cases cover every primitive', () => {
  const covered = new Set<string>();
  for (const c of cases) opsOf(build(c).graph, covered);
  expect(PRIMITIVES.filter((p) => !covered.has(p))).toEqual([]);
});

for (const engine of ['ort-node-cpu', 'ort-web-wasm'] as TestEngine[]) {
  describe(`primitives on ${engine} against the float64 reference`, () => {
    for (const c of cases) {
      for (const loops of c.covers.includes('loop') ? (['unroll', 'loop'] as const) : (['unroll'] as const)) {
        test(`${c.name}${c.covers.includes('loop') ? ` (${loops})` : ''}`, async () => {
          const { graph, params, inputs } = build(c);
          const expected = runReferenceGraph(graph, inputs, params);
          const actual = await runOnOrt(engine, graph, inputs, params, loops);
          for (const [name, ref] of Object.entries(expected)) {
            const got = actual[name];
            expect(got, `output ${name}`).toBeDefined();
            expect(got!.shape, `shape of ${name}`).toEqual([...ref.shape]);
            const ratio = toleranceRatio(got!.data, ref.data, RTOL, ATOL);
            expect(ratio, `${name}: worst |error| / (${ATOL} + ${RTOL}·|ref|)`).toBeLessThanOrEqual(1);
          }
        });
      }
    }
  });
}

describe('fusions', () => {
  test('the sum over N of batched outer products a [N, M, 1] · b [N, 1, P] is one Gemm with transA', () => {
    const { graph, params } = build(cases.find((c) => c.name.startsWith('sum over N of batched outer products'))!);
    const nodes = onnx.ModelProto.decode(graphModel(graph, params)).graph!.node!;
    const gemms = nodes.filter((n) => n.opType === 'Gemm');
    expect(gemms).toHaveLength(1);
    expect(Number(gemms[0]!.attribute!.find((a) => a.name === 'transA')?.i)).toBe(1);
    // 'keepDims' and 'shared' keep their batched MatMul and ReduceSum.
    expect(nodes.filter((n) => n.opType === 'MatMul')).toHaveLength(2);
    expect(nodes.filter((n) => n.opType === 'ReduceSum')).toHaveLength(2);
  });

  test('a conv2d whose one consumer adds a [Cout, 1, 1] bias becomes one Conv (or ConvTranspose) with the bias; a shared conv2d keeps its Add', () => {
    const { graph, params } = build(cases.find((c) => c.name.startsWith('conv2d + bias'))!);
    const nodes = onnx.ModelProto.decode(graphModel(graph, params)).graph!.node!;
    const producer = new Map(nodes.flatMap((n) => n.output!.map((o) => [o, n] as const)));
    const convs = nodes.filter((n) => n.opType === 'Conv');
    // 'fused' (3×3, 4 outputs): a Conv with a bias; 'fusedFewOut' (2 outputs of 8 channels): the
    // equal ConvTranspose, with the bias; 'shared': a Conv without bias.
    expect(convs.map((n) => n.input!.length).sort()).toEqual([2, 3]);
    const transposed = nodes.filter((n) => n.opType === 'ConvTranspose');
    expect(transposed.map((n) => n.input!.length)).toEqual([3]);
    expect(nodes.filter((n) => n.opType === 'Slice' || n.opType === 'Sum')).toHaveLength(1); // the weight's flip
    const adds = nodes.filter((n) => n.opType === 'Add');
    expect(adds).toHaveLength(1);
    expect(adds[0]!.input!.some((i) => producer.get(i)?.opType === 'Conv')).toBe(true);
  });
});

describe('export-time folding', () => {
  test('an unrolled loop embeds its masked weight once, not once per step', () => {
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 3]);
    const out = g.loop(50, x, [], (b, s) => b.tanh(b.matmul(s, b.mul(b.param('w', [3, 3]), b.constant([0, 1, 1, 0, 0, 1, 0, 0, 0], [3, 3])))));
    g.output('y', out);
    const params = { w: randomParam([3, 3], 1) };
    for (const loops of ['unroll', 'loop'] as const) {
      const graph = onnx.ModelProto.decode(graphModel(g.build(), params, loops)).graph as onnx.GraphProto;
      const floats = graph.initializer.filter((t) => t.dataType === onnx.TensorProto.DataType.FLOAT);
      // Only the folded masked weight (w itself is read by nothing batch-dependent).
      expect(floats.map((t) => t.dims!.map(Number))).toEqual([[3, 3]]);
      const loop = graph.node.find((n) => n.opType === 'Loop');
      const nodes = loops === 'unroll' ? graph.node.length : (loop!.attribute![0]!.g as onnx.GraphProto).node.length;
      expect(nodes).toBe(loops === 'unroll' ? 2 * 50 + 1 : 4);
    }
  });

  test("'auto' unrolls a short loop and keeps a long one an ONNX Loop, each body's folded weight embedded once", async () => {
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 3]);
    const body = (b: GraphBuilder, s: Value) => b.tanh(b.add(b.matmul(s, b.mul(b.param('w', [3, 3]), b.constant([0, 1, 1, 0, 0, 1, 0, 0, 0], [3, 3]))), b.scalar(0.1)));
    const short = g.loop(3, x, [], body);
    const long = g.loop(AUTO_UNROLL_MAX_NODES, short, [], body);
    g.output('y', long);
    const graph = g.build();
    const params = { w: randomParam([3, 3], 2) };
    const onnxGraph = onnx.ModelProto.decode(graphModel(graph, params, 'auto')).graph as onnx.GraphProto;
    expect(onnxGraph.node.filter((n) => n.opType === 'Loop')).toHaveLength(1);
    expect(onnxGraph.node.filter((n) => n.opType === 'Tanh')).toHaveLength(3);
    // One masked weight for the inlined copies, one for the Loop body.
    expect(onnxGraph.initializer.filter((t) => t.name!.startsWith('folded_mul'))).toHaveLength(2);
    const inputs = { x: randomTensor([N, 3], 3) };
    const expected = runReferenceGraph(graph, inputs, params).y!;
    const actual = await runOnOrt('ort-node-cpu', graph, inputs, params, 'auto');
    expect(toleranceRatio(actual.y!.data, expected.data, RTOL, ATOL)).toBeLessThanOrEqual(1);
  });

  test('parameter-only values are evaluated in float64 before rounding to float32', async () => {
    // exp(a)·exp(−a) is 1 exactly in float64; run in float32 it drifts by ~1e-7·|a|.
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 1]);
    const a = g.param('a', [1]);
    g.output('y', g.mul(x, g.mul(g.exp(g.mul(a, g.scalar(30))), g.exp(g.mul(a, g.scalar(-30))))));
    const params = { a: { data: Float32Array.of(1.37), shape: [1] } };
    const graph = onnx.ModelProto.decode(graphModel(g.build(), params)).graph as onnx.GraphProto;
    const folded = graph.initializer.find((t) => t.name!.startsWith('folded_'))!;
    expect(new Float32Array(Uint8Array.from(folded.rawData!).buffer)[0]).toBe(1);
  });
});
