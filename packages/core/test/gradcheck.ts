import { GraphBuilder, gradients, gradInputName, gradName, inlineGraph, runGraph, Rng, sizeOf, type Graph, type RefTensor, type Tensor } from '../src/index.js';

/**
 * Central-difference checks of gradient graphs on the float64 reference interpreter.
 * `sumProduct` turns a graph's output `y` into a scalar loss Σ y·r with a fixed random `r`,
 * so every entry of y's cotangent is exercised with a different weight.
 */
export function sumProduct(graph: Graph, out = 'y'): Graph {
  const g = new GraphBuilder();
  const bound = Object.fromEntries(Object.entries(graph.inputs).map(([k, id]) => [k, g.input(k, graph.nodes[id]!.shape)]));
  const y = inlineGraph(g, graph, bound)[out]!;
  const r = g.input('__r', y.shape);
  const prod = g.mul(y, r);
  g.output('loss', y.shape.length === 0 ? prod : g.sum(prod, y.shape.map((_, i) => i)));
  return g.build();
}

export interface CheckResult {
  /** Largest |analytic − numeric| / max(1, |numeric|) over the checked entries. */
  worst: number;
  checked: number;
}

const f64 = (t: { data: ArrayLike<number>; shape: readonly number[] }): RefTensor => ({ data: Float64Array.from(t.data), shape: [...t.shape] });

/**
 * Compares `gradients(graph)` with central differences for every parameter and input entry
 * (at most `sample` entries of each tensor, spread evenly).
 */
export function checkGradients(
  graph: Graph,
  inputs: Readonly<Record<string, Tensor>>,
  params: Readonly<Record<string, { data: ArrayLike<number>; shape: readonly number[] }>>,
  opts: { of?: string; eps?: number; sample?: number; inputs?: boolean; wrt?: readonly string[] } = {},
): CheckResult {
  const of = opts.of ?? 'loss';
  const eps = opts.eps ?? 1e-5;
  const wrt = opts.wrt ?? Object.keys(params);
  const wrtInputs = opts.inputs === false ? [] : Object.keys(inputs);
  const p = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, f64(v)]));
  const x = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, f64(v)]));
  const batch = Object.values(inputs)[0]?.shape[0] ?? 1;
  const grad = gradients(graph, { of, wrt, wrtInputs });
  const analytic = runGraph(grad, { params: p, inputs: x, batch });
  const loss = () => runGraph(graph, { params: p, inputs: x, batch })[of]!.data[0]!;
  let worst = 0;
  let checked = 0;
  const probe = (t: RefTensor, g: RefTensor) => {
    const n = t.data.length;
    const step = Math.max(1, Math.floor(n / (opts.sample ?? Infinity)));
    for (let i = 0; i < n; i += step) {
      const data = t.data as Float64Array;
      const v = data[i]!;
      data[i] = v + eps;
      const up = loss();
      data[i] = v - eps;
      const down = loss();
      data[i] = v;
      const num = (up - down) / (2 * eps);
      worst = Math.max(worst, Math.abs(g.data[i]! - num) / Math.max(1, Math.abs(num)));
      checked++;
    }
  };
  for (const k of wrt) {
    const gk = analytic[gradName(k)]!;
    if (sizeOf(gk.shape) !== p[k]!.data.length) throw new Error(`grad of ${k} has shape [${gk.shape.join(', ')}]`);
    probe(p[k]!, gk);
  }
  for (const k of wrtInputs) probe(x[k]!, analytic[gradInputName(k)]!);
  return { worst, checked };
}

/** A fixed random cotangent weight for `sumProduct`'s `__r` input. */
export function weights(shape: number[], seed: number): Tensor {
  const rng = new Rng(seed);
  return { data: Float64Array.from({ length: sizeOf(shape) }, () => rng.normal()), shape };
}
