import { describe, expect, it } from 'vitest';
import {
  DISTILL_DATA_X,
  DISTILL_OUTPUTS,
  DISTILL_TEACHER_Z,
  GraphBuilder,
  STUDENT_STOP_PREFIX,
  TEACHER_PREFIX,
  baseLogDensity,
  distillationGraph,
  gradients,
  gradName,
  inlineGraph,
  klEstimate,
  runGraph,
  studentStopParams,
  teacherParams,
  traceFlow,
  type Flow,
  type FlowSpec,
  type MadeOrder,
  type RefTensor,
} from '../src/index.js';
import { caseFlow, caseInput, flowCases } from '../src/testing/index.js';
import { checkGradients } from './gradcheck.js';
import { decode, encode, maxAbsDiff, randomFlow, randomInput } from './helpers.js';

const D = 6;
const made = (type: 'maf' | 'iaf', order: MadeOrder) => ({ type, order, hidden: [16] });
const spec = (type: 'maf' | 'iaf'): FlowSpec => ({
  version: 1,
  event: [D],
  layers: [made(type, 'natural'), { type: 'permute', kind: 'reverse' }, made(type, 'natural')],
});

/** The teacher's parameters as fed to the graph: `teacherParams` values with their shapes. */
function refParams(teacher: Flow): Record<string, RefTensor> {
  const shapes = paramsOf(teacher, (k) => `${TEACHER_PREFIX}${k}`);
  return Object.fromEntries(Object.entries(teacherParams(teacher)).map(([k, v]) => [k, { data: Float64Array.from(v), shape: shapes[k]!.shape }]));
}

function paramsOf(flow: Flow, rename = (k: string) => k): Record<string, RefTensor> {
  return Object.fromEntries(Object.entries(flow.params).map(([k, p]) => [rename(k), { data: Float64Array.from(p.data), shape: p.shape }]));
}

describe('inlineGraph', () => {
  it.each(flowCases().map((c) => [c.name, c] as const))('re-emits the %s density and sample graphs exactly', (_name, c) => {
    const flow = caseFlow(c);
    for (const direction of ['density', 'sample'] as const) {
      const graph = traceFlow(flow, direction);
      const g = new GraphBuilder();
      const inName = direction === 'density' ? 'x' : 'z';
      const input = g.input(inName, ['N', ...flow.spec.event]);
      const outs = inlineGraph(g, graph, { [inName]: input });
      for (const [k, v] of Object.entries(outs)) g.output(k, v);
      const copy = g.build();
      const x = direction === 'density' ? caseInput(c, 3) : randomInput([3, ...flow.spec.event], 5, 0.5);
      const run = (gr: typeof graph) => runGraph(gr, { params: paramsOf(flow), inputs: { [inName]: { data: Float64Array.from(x.data), shape: x.shape } }, batch: 3 });
      const a = run(graph);
      const b = run(copy);
      for (const k of Object.keys(graph.outputs)) {
        expect(a[k]!.data.every(Number.isFinite), `${direction}/${k} finite`).toBe(true);
        expect(maxAbsDiff(b[k]!.data, a[k]!.data), `${direction}/${k}`).toBe(0);
      }
    }
  });

  it('renames parameters and refuses an unbound input', () => {
    const flow = randomFlow(spec('maf'), 3);
    const graph = traceFlow(flow, 'density');
    const g = new GraphBuilder();
    const x = g.input('x', ['N', D]);
    inlineGraph(g, graph, { x }, { renameParam: (n) => `t/${n}` });
    const names = Object.keys(g.build().params);
    expect(names.length).toBe(Object.keys(flow.params).length);
    expect(names.every((n) => n.startsWith('t/'))).toBe(true);
    expect(() => inlineGraph(new GraphBuilder(), graph, {})).toThrow(/graph input 'x' is not bound/);
  });
});

describe('distillationGraph', () => {
  const teacher = randomFlow(spec('maf'), 11, 0.4);
  const student = randomFlow(spec('iaf'), 12, 0.4);
  const graph = distillationGraph(student, teacher);
  const n = 64;
  const z = randomInput([n, D], 9);
  const out = runGraph(graph, { params: { ...paramsOf(student), ...refParams(teacher) }, inputs: { z: { data: Float64Array.from(z.data), shape: z.shape } }, batch: n });

  it('is the Monte-Carlo KL(q ‖ p) of the student sampling pass against the teacher density pass', () => {
    // The same quantity from the two flows' own graphs, run separately.
    const { x, logDet } = decode(student, z);
    const logQ = baseLogDensity(z.data, n).map((b, i) => b + logDet.data[i]!);
    const logP = encode(teacher, { data: x.data, shape: [n, D] }).logProb.data;
    expect(maxAbsDiff(out[DISTILL_OUTPUTS.x]!.data, x.data)).toBe(0);
    expect(maxAbsDiff(out[DISTILL_OUTPUTS.logQ]!.data, logQ)).toBeLessThan(1e-12);
    expect(maxAbsDiff(out[DISTILL_OUTPUTS.logP]!.data, logP)).toBeLessThan(1e-12);
    let kl = 0;
    for (let i = 0; i < n; i++) kl += (logQ[i]! - logP[i]!) / n;
    expect(out[DISTILL_OUTPUTS.loss]!.shape).toEqual([]);
    expect(Math.abs(out[DISTILL_OUTPUTS.loss]!.data[0]! - kl)).toBeLessThan(1e-12);
    // Two different random flows: the divergence is clearly positive.
    expect(klEstimate(out.logQ!.data, out.logP!.data).kl).toBeGreaterThan(0.05);
  });

  it('is zero, sample by sample, when the student is the teacher', () => {
    const self = runGraph(distillationGraph(teacher, teacher), {
      params: { ...paramsOf(teacher), ...refParams(teacher) },
      inputs: { z: { data: Float64Array.from(z.data), shape: z.shape } },
      batch: n,
    });
    expect(maxAbsDiff(self.logQ!.data, self.logP!.data)).toBeLessThan(1e-9);
  });

  it("has the student's gradient of central differences (float64 reference)", () => {
    // The loss's gradient through the sampling pass (reparameterisation: x depends on the
    // student's parameters) and through log|det|, on the float64 reference. A small batch keeps
    // the 2·P central-difference evaluations fast; every student parameter entry is probed.
    const zs = randomInput([8, D], 21);
    const params = { ...paramsOf(student), ...refParams(teacher) };
    const wrt = Object.keys(student.params);
    const r = checkGradients(graph, { z: zs }, params, { wrt, inputs: false });
    expect(r.checked).toBe(Object.values(student.params).reduce((a, p) => a + p.data.length, 0));
    expect(r.worst).toBeLessThan(1e-6);
    console.log(`distillation gradient: ${r.checked} entries, worst relative error ${r.worst.toExponential(2)}`);
    // The check is not vacuous: the gradient is far from zero (random flows, KL ≫ 0).
    const grad = runGraph(gradients(graph, { of: DISTILL_OUTPUTS.loss, wrt }), { params, inputs: { z: { data: Float64Array.from(zs.data), shape: zs.shape } }, batch: 8 });
    const norm = wrt.reduce((a, k) => a + grad[gradName(k)]!.data.reduce((b, v) => b + v * v, 0), 0);
    expect(Math.sqrt(norm)).toBeGreaterThan(0.1);
  });

  it('with forwardWeight λ adds λ times the student NLL of teacher samples, with its gradient', () => {
    // Flows nearer the identity than the ones above: the random MAF's samples stay within ±5
    // (with std 0.4 they reach ±90, where the student's density over- and underflows).
    const teacher = randomFlow(spec('maf'), 11, 0.15);
    const student = randomFlow(spec('iaf'), 12, 0.15);
    const graph = distillationGraph(student, teacher);
    const lambda = 0.7;
    const fg = distillationGraph(student, teacher, { forwardWeight: lambda });
    const zs = randomInput([8, D], 21);
    const zt = randomInput([8, D], 22);
    const params = { ...paramsOf(student), ...refParams(teacher) };
    const f64 = (t: typeof zs) => ({ data: Float64Array.from(t.data), shape: t.shape });
    const out = runGraph(fg, { params, inputs: { z: f64(zs), [DISTILL_TEACHER_Z]: f64(zt) }, batch: 8 });
    // The same terms from the flows' own graphs: teacher samples x_t, the student's density of them.
    const xt = decode(teacher, zt).x;
    const nll = -encode(student, { data: xt.data, shape: [8, D] }).logProb.data.reduce((a, b) => a + b, 0) / 8;
    const plain = runGraph(graph, { params, inputs: { z: f64(zs) }, batch: 8 }).loss!.data[0]!;
    expect(Math.abs(out.forwardNll!.data[0]! - nll)).toBeLessThan(1e-10);
    expect(Math.abs(out.loss!.data[0]! - (plain + lambda * nll))).toBeLessThan(1e-10);
    expect(nll).toBeGreaterThan(1); // two different random flows: the term is not negligible
    const r = checkGradients(fg, { z: zs, [DISTILL_TEACHER_Z]: zt }, params, { wrt: Object.keys(student.params), inputs: false });
    expect(r.worst).toBeLessThan(1e-6);
    expect(() => distillationGraph(student, teacher, { forwardWeight: -1 })).toThrow(/forwardWeight must be a finite number ≥ 0, got -1/);
  });

  it('with pairWeight μ adds μ·E_x ½‖g_q(f_p(x)) − x‖² on data x, with its gradient; zero when the student inverts the teacher', () => {
    const teacher = randomFlow(spec('maf'), 11, 0.15);
    const student = randomFlow(spec('iaf'), 12, 0.15);
    const mu = 0.3;
    const pg = distillationGraph(student, teacher, { pairWeight: mu });
    const zs = randomInput([8, D], 21);
    const xd = randomInput([8, D], 23);
    const params = { ...paramsOf(student), ...refParams(teacher) };
    const f64 = (t: typeof zs) => ({ data: Float64Array.from(t.data), shape: t.shape });
    const out = runGraph(pg, { params, inputs: { z: f64(zs), [DISTILL_DATA_X]: f64(xd) }, batch: 8 });
    // The same term from the flows' own graphs, run one after another.
    const xhat = decode(student, encode(teacher, xd).z).x;
    let pair = 0;
    for (let i = 0; i < xhat.data.length; i++) pair += (0.5 * (xhat.data[i]! - xd.data[i]!) ** 2) / 8;
    const plain = runGraph(distillationGraph(student, teacher), { params, inputs: { z: f64(zs) }, batch: 8 }).loss!.data[0]!;
    expect(Math.abs(out[DISTILL_OUTPUTS.pairLoss]!.data[0]! - pair)).toBeLessThan(1e-10);
    expect(Math.abs(out.loss!.data[0]! - (plain + mu * pair))).toBeLessThan(1e-10);
    expect(pair).toBeGreaterThan(0.01); // two different random flows: the term is not negligible
    const r = checkGradients(pg, { z: zs, [DISTILL_DATA_X]: xd }, params, { wrt: Object.keys(student.params), inputs: false });
    expect(r.worst).toBeLessThan(1e-6);
    // A MAF student that is the teacher samples with the exact inverse of the teacher's density pass.
    const self = runGraph(distillationGraph(teacher, teacher, { pairWeight: mu }), {
      params: { ...paramsOf(teacher), ...refParams(teacher) },
      inputs: { z: f64(zs), [DISTILL_DATA_X]: f64(xd) },
      batch: 8,
    });
    expect(self[DISTILL_OUTPUTS.pairLoss]!.data[0]!).toBeLessThan(1e-20);
    expect(() => distillationGraph(student, teacher, { pairWeight: Number.NaN })).toThrow(/pairWeight must be a finite number ≥ 0, got NaN/);
  });

  it('with pathGradient keeps the loss and drops the score term: zero gradient when the student is the teacher', () => {
    // Flows near the identity, as above, so the IAF's density pass of its own samples is well conditioned.
    const teacher = randomFlow(spec('iaf'), 11, 0.15);
    const student = randomFlow(spec('iaf'), 12, 0.15);
    const zs = randomInput([8, D], 21);
    const f64 = (t: typeof zs) => ({ data: Float64Array.from(t.data), shape: t.shape });
    const stop = (f: Flow) => Object.fromEntries(Object.entries(studentStopParams(f)).map(([k, v]) => [k, { data: Float64Array.from(v), shape: f.params[k.slice(STUDENT_STOP_PREFIX.length)]!.shape }]));
    const run = (g: ReturnType<typeof distillationGraph>, s: Flow, t: Flow, wrt: string[]) =>
      runGraph(gradients(g, { of: DISTILL_OUTPUTS.loss, wrt }), { params: { ...paramsOf(s), ...refParams(t), ...stop(s) }, inputs: { z: f64(zs) }, batch: 8 });
    const gradNorm = (out: Record<string, RefTensor>, wrt: string[]) => Math.sqrt(wrt.reduce((a, k) => a + out[gradName(k)]!.data.reduce((b, v) => b + v * v, 0), 0));
    const wrt = Object.keys(student.params);
    // The loss's value is the plain estimator's (log q re-scored by the density pass).
    const plain = run(distillationGraph(student, teacher), student, teacher, wrt);
    const path = run(distillationGraph(student, teacher, { pathGradient: true }), student, teacher, wrt);
    expect(Math.abs(path.loss!.data[0]! - plain.loss!.data[0]!)).toBeLessThan(1e-9);
    expect(Math.abs(plain.loss!.data[0]!)).toBeGreaterThan(0.01);
    // The student is its own teacher: KL = 0 for every sample. The plain estimator's batch
    // gradient is the score term, noise around zero but not zero; the path gradient is zero.
    const selfWrt = Object.keys(teacher.params);
    const selfPlain = gradNorm(run(distillationGraph(teacher, teacher), teacher, teacher, selfWrt), selfWrt);
    const selfPath = gradNorm(run(distillationGraph(teacher, teacher, { pathGradient: true }), teacher, teacher, selfWrt), selfWrt);
    expect(selfPlain).toBeGreaterThan(0.1);
    expect(selfPath).toBeLessThan(1e-9);
    // Its gradient is the derivative with the stop-gradient copy held at the current values.
    const g = distillationGraph(student, teacher, { pathGradient: true });
    const r = checkGradients(g, { z: zs }, { ...paramsOf(student), ...refParams(teacher), ...stop(student) }, { wrt, inputs: false });
    expect(r.worst).toBeLessThan(1e-6);
    // The copy aliases the student's arrays: an in-place update is what the graph sees next.
    const aliased = studentStopParams(student);
    const [first] = Object.keys(student.params);
    expect(aliased[`${STUDENT_STOP_PREFIX}${first}`]).toBe(student.params[first!]!.data);
  });

  it('names the teacher parameters with the reserved prefix and refuses mismatched events', () => {
    const tNames = Object.keys(graph.params).filter((k) => k.startsWith(TEACHER_PREFIX));
    expect(tNames.length).toBe(Object.keys(teacher.params).length);
    const other = randomFlow({ ...spec('iaf'), event: [D + 1], layers: [made('iaf', 'natural')] }, 3);
    expect(() => distillationGraph(other, teacher)).toThrow(/student's event \[7\] differs from the teacher's \[6\]/);
  });
});

describe('klEstimate', () => {
  it('gives the mean and its standard error', () => {
    const r = klEstimate([1, 2, 3, 4], [0, 0, 0, 0]);
    expect(r.kl).toBe(2.5);
    expect(r.stderr).toBeCloseTo(Math.sqrt(1.6666666666666667 / 4), 14);
    expect(() => klEstimate([1], [0])).toThrow(RangeError);
  });
});
