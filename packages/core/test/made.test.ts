import { describe, expect, it } from 'vitest';
import {
  GraphBuilder,
  Rng,
  applyMade,
  hiddenDegrees,
  inputDegrees,
  madeMasks,
  madeParams,
  maskedWeights,
  runGraph,
  type LayerContext,
  type MadeSpec,
  type RefTensor,
} from '../src/index.js';

const D = 16;
const specs: MadeSpec[] = [
  { hidden: [40, 40], activation: 'relu', order: 'natural' },
  { hidden: [30], activation: 'tanh', order: 'reverse' },
  { hidden: [24, 16, 20], activation: 'tanh', order: 'random', seed: 5 },
];

/** `reach[j][i]`: the number of paths from input j to output i through the masks. */
function reach(spec: MadeSpec, d: number): number[][] {
  const masks = madeMasks(spec, d);
  let r: number[][] = Array.from({ length: d }, (_, j) => Array.from({ length: d }, (_, k) => (j === k ? 1 : 0)));
  for (const m of masks) {
    const [rows, cols] = m.shape;
    r = r.map((row) => Array.from({ length: cols }, (_, c) => row.reduce((s, v, k) => s + (k < rows ? v * m.values[k * cols + c]! : 0), 0)));
  }
  return r;
}

/** The MADE alone as a graph (x → shift, rawLogScale), with every parameter randomised. */
function madeGraph(spec: MadeSpec, d: number, seed: number) {
  const decls = madeParams(spec, d);
  const rng = new Rng(seed);
  const params: Record<string, RefTensor> = {};
  for (const [name, decl] of Object.entries(decls)) {
    const v = Float64Array.from(decl.init(rng));
    for (let i = 0; i < v.length; i++) v[i]! += 0.3 * rng.normal();
    params[name] = { data: v, shape: decl.shape };
  }
  const g = new GraphBuilder();
  // maskedWeights reads only `g` and `param` of its context.
  const ctx = { g, param: (local: string) => g.param(local, decls[local]!.shape) } as unknown as LayerContext;
  const x = g.input('x', ['N', d]);
  const { shift, rawLogScale } = applyMade(g, spec, maskedWeights(ctx, spec, d), x);
  g.output('shift', shift);
  g.output('rawLogScale', rawLogScale);
  return { graph: g.build(), params };
}

describe('MADE degrees and masks', () => {
  it('assigns input degrees from the order', () => {
    expect(inputDegrees({ hidden: [], activation: 'relu', order: 'natural' }, 4)).toEqual([1, 2, 3, 4]);
    expect(inputDegrees({ hidden: [], activation: 'relu', order: 'reverse' }, 4)).toEqual([4, 3, 2, 1]);
    const random = inputDegrees({ hidden: [], activation: 'relu', order: 'random', seed: 9 }, 12);
    expect([...random].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(random).toEqual(inputDegrees({ hidden: [], activation: 'relu', order: 'random', seed: 9 }, 12));
    expect(random).not.toEqual(inputDegrees({ hidden: [], activation: 'relu', order: 'random', seed: 10 }, 12));
    expect(hiddenDegrees(7, 4)).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(hiddenDegrees(3, 1)).toEqual([1, 1, 1]);
  });

  it.each(specs)('connects input j to output i iff m(j) < m(i) (hidden %j)', (spec) => {
    const m = inputDegrees(spec, D);
    const r = reach(spec, D);
    for (let j = 0; j < D; j++) for (let i = 0; i < D; i++) expect(r[j]![i]! > 0, `input ${j} → output ${i}`).toBe(m[j]! < m[i]!);
  });

  it('stays autoregressive with no hidden layer and with hidden layers narrower than D − 1', () => {
    for (const hidden of [[], [5], [3, 9]]) {
      const spec: MadeSpec = { hidden, activation: 'relu', order: 'random', seed: 2 };
      const m = inputDegrees(spec, D);
      const r = reach(spec, D);
      for (let j = 0; j < D; j++) for (let i = 0; i < D; i++) if (m[j]! >= m[i]!) expect(r[j]![i]).toBe(0);
      if (hidden.length === 0) for (let j = 0; j < D; j++) for (let i = 0; i < D; i++) expect(r[j]![i]! > 0).toBe(m[j]! < m[i]!);
    }
  });

  it.each(specs)('∂μ_i/∂x_j and ∂α_i/∂x_j vanish exactly for m(j) ≥ m(i), and (tanh) not otherwise (%j)', (spec) => {
    const { graph, params } = madeGraph(spec, D, 3);
    const m = inputDegrees(spec, D);
    // For each of P base points x: example 0 is x, example 1 + j is x with x_j moved by 0.5
    // (a finite change: the masked dependence must be exactly absent, not just small).
    // Several base points, because at one point a ReLU path can be inactive.
    const P = 32;
    const rows = P * (D + 1);
    const batch = new Float64Array(rows * D);
    const rng = new Rng(4);
    for (let p = 0; p < P; p++) {
      const x0 = rng.normals(D, 1.5);
      for (let k = 0; k <= D; k++) batch.set(x0, (p * (D + 1) + k) * D);
      for (let j = 0; j < D; j++) batch[(p * (D + 1) + 1 + j) * D + j]! += 0.5;
    }
    const out = runGraph(graph, { params, inputs: { x: { data: batch, shape: [rows, D] } }, batch: rows });
    const change = (head: Float64Array, p: number, j: number, i: number) => Math.abs(head[(p * (D + 1) + 1 + j) * D + i]! - head[p * (D + 1) * D + i]!);
    for (let j = 0; j < D; j++) {
      for (let i = 0; i < D; i++) {
        let largest = 0;
        for (let p = 0; p < P; p++) largest = Math.max(largest, change(out.shift!.data, p, j, i), change(out.rawLogScale!.data, p, j, i));
        if (m[j]! >= m[i]!) expect(largest, `μ_${i}, α_${i} vs x_${j}`).toBe(0);
        // A ReLU unit can be inactive on every base point (legitimately: the function then
        // does not depend on x_j), so the converse is asserted for tanh, which has no dead units.
        else if (spec.activation === 'tanh') expect(largest, `μ_${i}, α_${i} vs x_${j}`).toBeGreaterThan(1e-6);
      }
    }
  });

  it('zero-initialises both heads, so a fresh MADE outputs exactly 0', () => {
    const decls = madeParams(specs[0]!, D);
    for (const head of ['wShift', 'bShift', 'wLogScale', 'bLogScale']) {
      expect(Array.from(decls[head]!.init(new Rng(1))).every((v) => v === 0), head).toBe(true);
    }
    expect(decls.wShift!.shape).toEqual([40, D]);
    expect(decls.w0!.shape).toEqual([D, 40]);
  });
});
