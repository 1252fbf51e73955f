import type { Flow } from '../flow/flow.js';
import { DENSITY_OUTPUTS, SAMPLE_OUTPUTS, traceFlow } from '../flow/trace.js';
import { GraphBuilder, type Graph } from '../graph/graph.js';
import { inlineGraph } from '../graph/inline.js';
import { flatten, standardNormalLogProb } from '../graph/ops.js';
import { formatShape } from '../tensor.js';

/** The teacher's parameters enter the distillation graph under this prefix (held fixed). */
export const TEACHER_PREFIX = 'teacher/';

/** Output names of {@link distillationGraph}. */
export const DISTILL_OUTPUTS = { loss: 'loss', logQ: 'logQ', logP: 'logP', x: 'x' } as const;

/**
 * Probability density distillation (van den Oord et al. 2017, "Parallel WaveNet",
 * arXiv 1711.10433, §3): a student flow q — an IAF, which samples in one parallel pass —
 * is trained to match a frozen teacher p — a MAF, which evaluates densities in one parallel
 * pass — by minimising the reverse KL divergence on the student's own samples:
 *
 *   KL(q ‖ p) = E_{z ~ N(0, I)} [ log q(x) − log p(x) ],   x = f⁻¹(z)  (the student's sampling pass)
 *   log q(x) = log N(z; 0, I) + log|det ∂z/∂x|,            read off the same pass (its `logDet`)
 *
 * so neither direction is ever sequential. Gradients reach the student through x
 * (reparameterisation) and through its log-determinant; the teacher's parameters are graph
 * parameters named `teacher/<name>` that the trainer does not update.
 *
 * The graph: input `z` `[N, ...event]` → `loss` `[]` (the Monte-Carlo KL estimate of the batch,
 * nats), `logQ` and `logP` `[N]` (per-sample terms, for a standard error), `x` `[N, ...event]`.
 */
export function distillationGraph(student: Flow, teacher: Flow): Graph {
  const se = student.spec.event;
  const te = teacher.spec.event;
  if (formatShape(se) !== formatShape(te)) {
    throw new Error(`distillation: the student's event ${formatShape(se)} differs from the teacher's ${formatShape(te)}; they must model the same data`);
  }
  for (const name of Object.keys(student.params)) {
    if (name.startsWith(TEACHER_PREFIX)) throw new Error(`distillation: student parameter '${name}' uses the reserved prefix '${TEACHER_PREFIX}'`);
  }
  const g = new GraphBuilder();
  const z = g.input('z', ['N', ...se]);
  const s = inlineGraph(g, traceFlow(student, 'sample'), { z });
  const t = inlineGraph(g, traceFlow(teacher, 'density'), { x: s[SAMPLE_OUTPUTS.x]! }, { renameParam: (n) => `${TEACHER_PREFIX}${n}` });
  const logQ = g.add(standardNormalLogProb(g, flatten(g, z)), s[SAMPLE_OUTPUTS.logDet]!);
  const logP = t[DENSITY_OUTPUTS.logProb]!;
  g.output(DISTILL_OUTPUTS.loss, g.mean(g.sub(logQ, logP), [0]));
  g.output(DISTILL_OUTPUTS.logQ, logQ);
  g.output(DISTILL_OUTPUTS.logP, logP);
  g.output(DISTILL_OUTPUTS.x, s[SAMPLE_OUTPUTS.x]!);
  return g.build();
}

/** The teacher's parameters under their distillation-graph names (fed, never updated). */
export function teacherParams(teacher: Flow): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(teacher.params).map(([k, p]) => [`${TEACHER_PREFIX}${k}`, p.data]));
}

/** A Monte-Carlo KL estimate with its standard error, from per-sample log q − log p. */
export function klEstimate(logQ: ArrayLike<number>, logP: ArrayLike<number>): { kl: number; stderr: number; n: number } {
  const n = logQ.length;
  if (n < 2 || logP.length !== n) throw new RangeError(`klEstimate: need ≥ 2 paired samples, got ${n} and ${logP.length}`);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += (logQ[i]! - logP[i]!) / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (logQ[i]! - logP[i]! - mean) ** 2;
  return { kl: mean, stderr: Math.sqrt(ss / (n - 1) / n), n };
}
