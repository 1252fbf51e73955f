import { describe, expect, it } from 'vitest';
import { concreteShape, gradientTable, GraphBuilder, PRIMITIVES, Rng, runGraph, sizeOf, type RefTensor, type Tensor, type Value } from '../src/index.js';
import { primitiveCases } from '../src/testing/index.js';
import { checkGradients, sumProduct, weights } from './gradcheck.js';

const f64 = (t: { data: ArrayLike<number>; shape: readonly number[] }): RefTensor => ({ data: Float64Array.from(t.data), shape: [...t.shape] });

describe('gradient table', () => {
  it('has a rule for every primitive', () => {
    for (const op of PRIMITIVES) expect(typeof gradientTable[op]).toBe('function');
  });

  const cases = primitiveCases();
  it('primitive cases cover every primitive', () => {
    const covered = new Set(['input', 'param', 'constant', ...cases.flatMap((c) => c.covers)]);
    expect(PRIMITIVES.filter((op) => !covered.has(op))).toEqual([]);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: gradients match central differences', (_n, c) => {
    const loss = sumProduct(c.graph);
    const batch = Object.values(c.inputs)[0]!.shape[0]!;
    const y = runGraph(c.graph, { params: Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, f64(v)])), inputs: Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, f64(v)])), batch }).y!;
    const r = weights(concreteShape(c.graph.nodes[c.graph.outputs.y!]!.shape, batch), 5);
    expect(r.shape).toEqual(y.shape);
    const { worst, checked } = checkGradients(loss, { ...c.inputs, __r: r }, c.params);
    expect(checked).toBeGreaterThan(0);
    expect(worst).toBeLessThan(1e-6);
  });
});

/** Random-shape cases: broadcasting against parameters and inputs, every attribute of every shaped primitive. */
type Build = (b: GraphBuilder, p: (name: string, shape: number[], lo?: number, hi?: number) => Value, x: (name: string, shape: number[], lo?: number, hi?: number) => Value, rng: Rng) => Value;

const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
const dims = (rng: Rng, rank: number) => Array.from({ length: rank }, () => int(rng, 1, 3) + 1);
/** Some dims of `shape` set to 1 and some leading ones dropped: a shape that broadcasts against it. */
const broadcastable = (rng: Rng, shape: number[]) => shape.map((d) => (rng.uniform() < 0.4 ? 1 : d)).slice(int(rng, 0, shape.length - 1));

const RANDOM: [string, Build][] = [
  ...(['add', 'sub', 'mul', 'div', 'maximum'] as const).flatMap((op): [string, Build][] => [
    [`${op}/param-broadcast`, (b, p, x, rng) => {
      const s = dims(rng, int(rng, 1, 3));
      return b[op](x('x', s, op === 'div' ? 0.5 : -2, 2), p('w', broadcastable(rng, s), op === 'div' ? 0.5 : -1, op === 'div' ? 2 : 1));
    }],
    [`${op}/input-broadcast`, (b, _p, x, rng) => {
      const s = dims(rng, int(rng, 1, 3));
      // Both batched: a keeps its rank (inputs carry 'N' first), some dims 1.
      return b[op](x('a', s.map((d) => (rng.uniform() < 0.5 ? 1 : d)), 0.5, 2), x('b', s, 0.5, 2));
    }],
  ]),
  ['where/broadcast-cond', (b, p, x, rng) => {
    const s = dims(rng, 2);
    return b.where(b.less(x('c', [1, s[1]!]), b.scalar(0)), p('w', [s[1]!]), x('x', s));
  }],
  ...(['sum', 'mean', 'max'] as const).flatMap((op) => [0, 1, 2, 3].map((k): [string, Build] => [`${op}/random-axes-${k}`, (b, _p, x, rng) => {
    const s = dims(rng, 3);
    const axes = [0, 1, 2, 3].filter(() => rng.uniform() < 0.5);
    if (axes.length === 0) axes.push(int(rng, 0, 3));
    return b[op](x('x', s), axes, rng.uniform() < 0.5);
  }])),
  ['sum/of-param-batch-broadcast', (b, p, x) => b.mean(b.mul(b.sum(p('w', [3, 4]), [1], true), x('x', [3, 1])), [0])],
  ['transpose/random', (b, p, x, rng) => {
    const perm = [1, 2, 3].sort(() => rng.uniform() - 0.5);
    return b.transpose(b.mul(x('x', [2, 3, 4]), p('w', [3, 4])), [0, ...perm]);
  }],
  ['slice/random', (b, p, x, rng) => {
    const s = dims(rng, 3);
    const axis = int(rng, 1, 3);
    const d = s[axis - 1]!;
    const start = int(rng, 0, d - 1);
    return b.slice(b.add(x('x', s), p('w', s)), axis, start, int(rng, start + 1, d));
  }],
  ['slice/param', (b, p, x) => b.mul(x('x', [2]), b.slice(p('w', [5, 2]), 0, 1, 2))],
  ['concat/param-and-input', (b, p, x) => b.concat([x('x', [2, 3]), b.add(x('y', [2, 1]), p('w', [2, 1])), x('z', [2, 2])], 2)],
  ['gather/repeats-param', (b, p, x) => b.mul(x('x', [3, 6]), b.gather(p('w', [3, 4]), 1, [3, 0, 0, 2, 3, 3]))],
  ['gather/rank1-param', (b, p, x) => b.mul(x('x', [5]), b.gather(p('w', [4]), 0, [1, 1, 0, 3, 2]))],
  ['gather/permutation', (b, p, x) => b.gather(b.mul(x('x', [4, 3]), p('w', [4, 3])), 1, [2, 0, 3, 1])],
  ['cumsum/random-axis', (b, p, x, rng) => b.cumsum(b.mul(x('x', [3, 4, 2]), p('w', [4, 2])), int(rng, 1, 3))],
  ['matmul/batched-param', (b, p, x) => b.matmul(x('x', [2, 3, 4]), p('w', [4, 5]))],
  ['matmul/param-left', (b, p, x) => b.matmul(p('w', [2, 3]), x('x', [3, 4]))],
  ['matmul/rows-param', (b, p, x) => b.matmul(x('x', [4]), p('w', [4, 3]))],
  ['matmul/batched-both', (b, p, x) => b.matmul(b.add(x('a', [2, 3]), p('u', [2, 3])), b.mul(x('b', [3, 2]), p('v', [1, 2])))],
  ...[0, 1, 2, 3, 4].map((k): [string, Build] => [`conv2d/random-${k}`, (b, p, x, rng) => {
    const [kh, kw] = [int(rng, 1, 3), int(rng, 1, 3)];
    const pads = [int(rng, 0, kh), int(rng, 0, kw), int(rng, 0, kh), int(rng, 0, kw)] as [number, number, number, number];
    const ci = int(rng, 1, 3);
    return b.conv2d(x('x', [ci, int(rng, kh, 5), int(rng, kw, 5)]), p('w', [int(rng, 1, 3), ci, kh, kw]), pads);
  }]),
  ...[0, 1, 2, 3].map((k): [string, Build] => [`conv2dWeightGrad/random-${k}`, (b, p, x, rng) => {
    const [kh, kw] = [int(rng, 1, 3), int(rng, 1, 3)];
    const pads = [int(rng, 0, kh), int(rng, 0, kw), int(rng, 0, kh), int(rng, 0, kw)] as [number, number, number, number];
    const [ci, co, h, w] = [int(rng, 1, 3), int(rng, 1, 3), int(rng, kh, 5), int(rng, kw, 5)];
    const xs = b.mul(x('x', [ci, h, w]), p('s', [ci, 1, 1]));
    return b.conv2dWeightGrad(xs, x('dy', [co, h + pads[0] + pads[2] - kh + 1, w + pads[1] + pads[3] - kw + 1]), pads, [kh, kw]);
  }]),
  ['conv2d/wide-pads', (b, p, x) => b.conv2d(x('x', [2, 3, 3]), p('w', [2, 2, 2, 2]), [2, 0, 3, 2])],
  ['logAbsDet/alone', (b, p, x) => b.mul(x('x', [2]), b.logAbsDet(b.add(p('w', [3, 3]), b.constant([2, 0, 0, 0, 2, 0, 0, 0, 2], [3, 3]))))],
  ['matrixInverse/of-product', (b, p, x) => {
    const eye = b.constant([2, 0, 0, 0, 2, 0, 0, 0, 2], [3, 3]);
    const a = b.matmul(b.add(p('u', [3, 3]), eye), b.add(p('v', [3, 3]), eye));
    return b.matmul(x('x', [3]), b.matrixInverse(a));
  }],
  ['loop/params-and-invariants', (b, p, x) => {
    const s0 = x('x', [3]);
    const bias = p('c', [3]);
    return b.loop(4, s0, [bias, x('y', [3])], (i, s, [c, y]) => i.add(i.tanh(i.add(i.matmul(s, i.param('w', [3, 3])), c!)), i.mul(y!, s)));
  }],
  ['loop/nested', (b, p, x) => {
    p('w', [2, 2]);
    return b.loop(2, x('x', [2]), [], (i, s) => i.loop(3, s, [], (j, t) => j.sigmoid(j.matmul(t, j.param('w', [2, 2])))));
  }],
  ['erf-exp-log-sqrt/chain', (b, p, x) => b.sqrt(b.log(b.add(b.exp(b.erf(b.mul(x('x', [4]), p('w', [4])))), b.scalar(1))))],
  ['relu-abs-sigmoid-tanh-neg/chain', (b, p, x) => b.neg(b.relu(b.sub(b.abs(b.tanh(b.add(x('x', [6]), p('w', [6])))), b.sigmoid(x('y', [6])))))],
];

describe('gradients on random shapes', () => {
  it.each(RANDOM.map(([n, f], i) => [n, f, i] as const))('%s', (_n, build, i) => {
    const rng = new Rng(500 + i);
    const b = new GraphBuilder();
    const inputs: Record<string, Tensor> = {};
    const params: Record<string, RefTensor> = {};
    const batch = 3;
    const fill = (n: number, lo: number, hi: number) => Float64Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
    const p = (name: string, shape: number[], lo = -1, hi = 1) => {
      params[name] ??= { data: fill(sizeOf(shape), lo, hi), shape };
      return b.param(name, shape);
    };
    const x = (name: string, shape: number[], lo = -2, hi = 2) => {
      inputs[name] = { data: fill(batch * sizeOf(shape), lo, hi), shape: [batch, ...shape] };
      return b.input(name, ['N', ...shape]);
    };
    const y = build(b, p, x, rng);
    b.output('y', y);
    const graph = b.build();
    for (const [name, shape] of Object.entries(graph.params)) params[name] ??= { data: fill(sizeOf(shape as number[]), -0.8, 0.8), shape: shape as number[] };
    const r = weights(concreteShape(y.shape, batch), 9);
    const { worst, checked } = checkGradients(sumProduct(graph), { ...inputs, __r: r }, params);
    expect(checked).toBeGreaterThan(0);
    expect(worst).toBeLessThan(1e-6);
  });
});
