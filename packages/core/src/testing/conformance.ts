import { describe, expect, it } from 'vitest';
import type { Flow, ParamTensor } from '../flow/flow.js';
import type { Graph } from '../graph/graph.js';
import { runGraph } from '../reference/interpreter.js';
import type { RefTensor } from '../reference/kernels.js';
import { InputError } from '../runtime/check.js';
import { referenceRuntime } from '../runtime/reference.js';
import type { FlowRuntime } from '../runtime/types.js';
import type { Tensor } from '../tensor.js';
import { assertClose, type Tolerance } from './compare.js';
import { caseFlow, caseInput, flowCases } from './flowCases.js';
import { primitiveCases } from './primitiveCases.js';

/** An engine under test. */
export interface ConformanceTarget {
  /** Engine name, e.g. 'tfjs-wasm'. */
  engine: string;
  /** Runs a raw graph; returns every output (bools as 0/1). */
  runGraph(graph: Graph, inputs: Record<string, Tensor>, params: Record<string, ParamTensor>): Promise<Record<string, Tensor>>;
  /** The engine's runtime for a flow. */
  createRuntime(flow: Flow): Promise<FlowRuntime>;
  tolerance?: Partial<ConformanceTolerances>;
  /** Cases this engine cannot run: case name → reason (reported as skipped with the reason). */
  skip?: Record<string, string>;
}

export interface ConformanceTolerances {
  /** Primitive outputs. */
  primitive: Tolerance;
  /** logProb (nats) and logDet. */
  logProb: Tolerance;
  /** encode's z against the reference, and decode(encode(x)) against x. */
  roundTrip: Tolerance;
  /** sample(seed) against the reference sample for the same seed. */
  sample: Tolerance;
}

/** float32 engines against the float64 reference. */
export const FLOAT32_TOLERANCES: ConformanceTolerances = {
  primitive: { rtol: 1e-4, atol: 1e-5 },
  logProb: { rtol: 1e-4, atol: 1e-4 },
  roundTrip: { rtol: 1e-4, atol: 1e-4 },
  sample: { rtol: 1e-3, atol: 1e-4 },
};

const BATCH = 4;

function refParams(params: Record<string, ParamTensor>): Record<string, RefTensor> {
  return Object.fromEntries(Object.entries(params).map(([k, p]) => [k, { data: Float64Array.from(p.data), shape: p.shape }]));
}

function refInputs(inputs: Record<string, Tensor>): Record<string, RefTensor> {
  return Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, { data: Float64Array.from(t.data), shape: t.shape }]));
}

/** Every case name the suite registers (to check skip lists against). */
export function conformanceCaseNames(): string[] {
  return [...primitiveCases().map((c) => c.name), ...flowCases().flatMap((c) => [`${c.name}/logProb`, `${c.name}/roundTrip`, `${c.name}/sample`])];
}

/**
 * Registers the conformance suite for `target` with Vitest: every primitive case and
 * every flow case against the float64 reference, plus the runtime's input checks.
 */
export function describeConformance(target: ConformanceTarget): void {
  const tol: ConformanceTolerances = { ...FLOAT32_TOLERANCES, ...target.tolerance };
  const skip = target.skip ?? {};
  const names = new Set(conformanceCaseNames());
  const caseIt = (name: string, fn: () => Promise<void>) => {
    const reason = skip[name];
    if (reason !== undefined) it.skip(`${name} (skipped on ${target.engine}: ${reason})`, fn);
    else it(name, fn);
  };

  describe(`conformance: ${target.engine}`, () => {
    it('skip list names only existing cases, each with a reason', () => {
      for (const [name, reason] of Object.entries(skip)) {
        expect(names.has(name), `unknown case in skip list: ${name}`).toBe(true);
        expect(reason.trim().length, `skip of ${name} needs a reason`).toBeGreaterThan(0);
      }
    });

    for (const c of primitiveCases()) {
      caseIt(c.name, async () => {
        const expected = runGraph(c.graph, { params: refParams(c.params), inputs: refInputs(c.inputs), batch: c.batch });
        const actual = await target.runGraph(c.graph, c.inputs, c.params);
        for (const [k, v] of Object.entries(expected)) {
          const a = actual[k];
          expect(a, `output '${k}' missing`).toBeDefined();
          expect([...a!.shape]).toEqual([...v.shape]);
          assertClose(`${c.name} output '${k}'`, a!.data, v.data, tol.primitive);
        }
      });
    }

    for (const c of flowCases()) {
      const flow = caseFlow(c);
      const x = caseInput(c, BATCH);
      const ref = referenceRuntime(flow);
      const withRuntime = async (fn: (rt: FlowRuntime) => Promise<void>) => {
        const rt = await target.createRuntime(flow);
        try {
          await fn(rt);
        } finally {
          await rt.dispose();
        }
      };
      caseIt(`${c.name}/logProb`, () =>
        withRuntime(async (rt) => {
          assertClose(`${c.name} logProb`, await rt.logProb(x), await ref.logProb(x), tol.logProb);
          const [enc, refEnc] = [await rt.encode(x), await ref.encode(x)];
          assertClose(`${c.name} logDet`, enc.logDet, refEnc.logDet, tol.logProb);
        }),
      );
      caseIt(`${c.name}/roundTrip`, () =>
        withRuntime(async (rt) => {
          const { z } = await rt.encode(x);
          expect(z.shape).toEqual(x.shape);
          assertClose(`${c.name} z`, z.data, (await ref.encode(x)).z.data, tol.roundTrip);
          assertClose(`${c.name} decode(encode(x))`, (await rt.decode(z)).data, x.data, tol.roundTrip);
          await expect(rt.logProb({ data: new Float32Array(3), shape: [1, 3] }), 'wrong shape').rejects.toThrow(InputError);
          const bad = Float32Array.from(x.data);
          bad[1] = Number.NaN;
          await expect(rt.logProb({ data: bad, shape: x.shape }), 'NaN input').rejects.toThrow(/finite/);
        }),
      );
      caseIt(`${c.name}/sample`, () =>
        withRuntime(async (rt) => {
          const opts = { n: 3, temperature: 0.7, seed: 42 };
          const s = await rt.sample(opts);
          expect(s.shape).toEqual([3, ...c.spec.event]);
          assertClose(`${c.name} sample(seed 42)`, s.data, (await ref.sample(opts)).data, tol.sample);
        }),
      );
    }
  });
}
