import { describe, expect, it } from 'vitest';
import { PRIMITIVES, referenceRuntime, runGraph, unrollLoops, type ParamTensor, type Tensor } from '../src/index.js';
import { describeConformance, primitiveCases } from '../src/testing/index.js';

const toRef = (m: Record<string, Tensor | ParamTensor>) =>
  Object.fromEntries(Object.entries(m).map(([k, t]) => [k, { data: Float64Array.from(t.data), shape: t.shape }]));

describe('conformance suite', () => {
  it('has a case for every primitive', () => {
    const covered = new Set<string>(['input', 'param', 'constant']);
    for (const c of primitiveCases()) {
      for (const op of c.covers) covered.add(op);
      for (const n of c.graph.nodes) expect(PRIMITIVES).toContain(n.op);
    }
    expect([...PRIMITIVES].filter((p) => !covered.has(p))).toEqual([]);
  });
});

// The reference interpreter run on loop-free (unrolled) graphs, with float32 outputs:
// checks `unrollLoops` and the suite's own float32 tolerances on a known-good engine.
describeConformance({
  engine: 'reference-unrolled-f32',
  async runGraph(graph, inputs, params) {
    const out = runGraph(unrollLoops(graph), { params: toRef(params), inputs: toRef(inputs), batch: Object.values(inputs)[0]!.shape[0]! });
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { data: Float32Array.from(v.data), shape: [...v.shape] }]));
  },
  async createRuntime(flow) {
    return referenceRuntime(flow);
  },
});
