import type { Flow } from '../flow/flow.js';
import { DENSITY_OUTPUTS, SAMPLE_OUTPUTS, traceFlow } from '../flow/trace.js';
import { GraphBuilder, type Graph } from '../graph/graph.js';
import { inlineGraph } from '../graph/inline.js';
import { flatten, standardNormalLogProb } from '../graph/ops.js';
import { formatShape } from '../tensor.js';

/** The teacher's parameters enter the distillation graph under this prefix (held fixed). */
export const TEACHER_PREFIX = 'teacher/';

/**
 * With {@link DistillationGraphOptions.pathGradient}: the student's parameters enter its density
 * pass a second time under this prefix, fed the current values but not differentiated.
 */
export const STUDENT_STOP_PREFIX = 'student-stop/';

/** Output names of {@link distillationGraph}. */
export const DISTILL_OUTPUTS = { loss: 'loss', logQ: 'logQ', logP: 'logP', x: 'x', forwardNll: 'forwardNll', pairLoss: 'pairLoss' } as const;

/** Input of {@link distillationGraph} with a forward term: the teacher's noise `[N, ...event]`. */
export const DISTILL_TEACHER_Z = 'zTeacher';

/** Input of {@link distillationGraph} with a pair term: a batch of data `[N, ...event]` (the teacher's training data). */
export const DISTILL_DATA_X = 'xData';

/** Options of {@link distillationGraph}. */
export interface DistillationGraphOptions {
  /**
   * λ > 0 adds a mass-covering term: loss = KL(q ‖ p) + λ · E_{x ~ p}[−log q(x)], on teacher
   * samples x = g⁻¹(z_t) (`zTeacher`, the teacher's sampling pass) scored by the student's
   * density pass. E_p[−log q] = KL(p ‖ q) + H(p), so the term is the forward KL up to a
   * constant; it penalises a student that leaves a teacher mode empty, which the reverse KL
   * alone does not. Costs the two passes that are sequential for a MAF teacher and an IAF
   * student (D steps each): cheap in low dimension, expensive for images.
   */
  forwardWeight?: number;
  /**
   * The path-derivative ("sticking the landing") estimator of the reverse KL's gradient
   * (Roeder, Wu & Duvenaud 2017, arXiv 1703.09194). The gradient of log q_θ(x_θ) has two parts:
   * the path through the sample x_θ = f⁻¹(z; θ), and the score ∇_θ log q_θ(x) at fixed x, whose
   * expectation under q is zero but whose per-batch value is noise. With this option the loss's
   * log q is computed by the student's density pass on its own samples with its parameters fed
   * a second time as constants (`student-stop/<name>`, see {@link studentStopParams}), so only
   * the path part is differentiated. The loss's value is unchanged; its gradient is unbiased and
   * its variance vanishes where q = p (it is exactly zero for a student equal to its teacher),
   * so training can settle at a low KL. Costs the student's density pass, sequential for an IAF
   * student (D steps): cheap in low dimension, expensive for images.
   */
  pathGradient?: boolean;
  /**
   * μ > 0 adds the pair term, a mass-covering term that stays parallel for a MAF teacher and an
   * IAF student in any dimension: for data x (input `xData`), the teacher's latent
   * z_x = f_p(x) (its density pass, no gradient) and the student's sample of it x̂ = g_q(z_x)
   * (its sampling pass):
   *
   *   loss += μ · E_x [ ½ ‖g_q(f_p(x)) − x‖² ]
   *
   * It is zero when the student's sampling map is the teacher's (g_q = f_p⁻¹, where the KL is
   * zero too), and it asks the student to send the teacher's latent of every data point back to
   * that point, so every mode the data visits keeps student mass, which the reverse KL alone
   * does not ensure (in 784-D it collapsed onto one garment). The error is measured in data
   * space: measured in the teacher's latent space instead (‖f_p(x̂) − z_x‖), a 784-D student
   * whose x̂ were all one garment scored ½‖Δz‖² ≈ 13 for shirts and trousers alike, because a
   * MAF's latent is the sequence of its prediction residuals, and very different images can
   * have residuals close together. Costs one more sampling pass of the student and one density
   * pass of the teacher without gradient: both parallel.
   */
  pairWeight?: number;
}

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
 *
 * The reverse KL is mode-seeking: a student started near the identity moves its mass to the
 * teacher's nearest modes and can drop a far one for good (measured on the 2-D mixture: an
 * `iaf-2d` student of the shipped `maf-2d` left one of five modes empty, KL 0.195 nats, test
 * NLL 24.9 against the teacher's 3.26). `options.forwardWeight` adds the forward term that
 * prevents it (with inputs `z` and `zTeacher`; `loss` is then the combined objective and the
 * extra output `forwardNll` its second part). Its cost is sequential for a MAF teacher and an
 * IAF student; `options.pairWeight` is the mass-covering term that is not (input `xData`, extra
 * output `pairLoss`).
 */
export function distillationGraph(student: Flow, teacher: Flow, options: DistillationGraphOptions = {}): Graph {
  const lambda = options.forwardWeight ?? 0;
  if (!(Number.isFinite(lambda) && lambda >= 0)) throw new RangeError(`distillation: forwardWeight must be a finite number ≥ 0, got ${lambda}`);
  const mu = options.pairWeight ?? 0;
  if (!(Number.isFinite(mu) && mu >= 0)) throw new RangeError(`distillation: pairWeight must be a finite number ≥ 0, got ${mu}`);
  const se = student.spec.event;
  const te = teacher.spec.event;
  if (formatShape(se) !== formatShape(te)) {
    throw new Error(`distillation: the student's event ${formatShape(se)} differs from the teacher's ${formatShape(te)}; they must model the same data`);
  }
  for (const name of Object.keys(student.params)) {
    for (const prefix of [TEACHER_PREFIX, STUDENT_STOP_PREFIX]) {
      if (name.startsWith(prefix)) throw new Error(`distillation: student parameter '${name}' uses the reserved prefix '${prefix}'`);
    }
  }
  const g = new GraphBuilder();
  const z = g.input('z', ['N', ...se]);
  const s = inlineGraph(g, traceFlow(student, 'sample'), { z });
  const teacherNames = { renameParam: (n: string) => `${TEACHER_PREFIX}${n}` };
  const t = inlineGraph(g, traceFlow(teacher, 'density'), { x: s[SAMPLE_OUTPUTS.x]! }, teacherNames);
  const logQ = g.add(standardNormalLogProb(g, flatten(g, z)), s[SAMPLE_OUTPUTS.logDet]!);
  const logP = t[DENSITY_OUTPUTS.logProb]!;
  // The loss's log q: from the sampling pass (path + score gradient), or re-scored by the
  // density pass with constant parameters (path gradient only; the same value).
  const logQLoss = options.pathGradient
    ? inlineGraph(g, traceFlow(student, 'density'), { x: s[SAMPLE_OUTPUTS.x]! }, { renameParam: (n: string) => `${STUDENT_STOP_PREFIX}${n}` })[DENSITY_OUTPUTS.logProb]!
    : logQ;
  let loss = g.mean(g.sub(logQLoss, logP), [0]);
  if (lambda > 0) {
    const zt = g.input(DISTILL_TEACHER_Z, ['N', ...se]);
    const xt = inlineGraph(g, traceFlow(teacher, 'sample'), { z: zt }, teacherNames)[SAMPLE_OUTPUTS.x]!;
    const nll = g.neg(g.mean(inlineGraph(g, traceFlow(student, 'density'), { x: xt })[DENSITY_OUTPUTS.logProb]!, [0]));
    loss = g.add(loss, g.mul(g.scalar(lambda), nll));
    g.output(DISTILL_OUTPUTS.forwardNll, nll);
  }
  if (mu > 0) {
    const xd = g.input(DISTILL_DATA_X, ['N', ...se]);
    const zx = inlineGraph(g, traceFlow(teacher, 'density'), { x: xd }, teacherNames)[DENSITY_OUTPUTS.z]!;
    const xhat = inlineGraph(g, traceFlow(student, 'sample'), { z: zx })[SAMPLE_OUTPUTS.x]!;
    const err = flatten(g, g.sub(xhat, xd));
    const pair = g.mean(g.mul(g.scalar(0.5), g.sum(g.mul(err, err), [1])), [0]);
    loss = g.add(loss, g.mul(g.scalar(mu), pair));
    g.output(DISTILL_OUTPUTS.pairLoss, pair);
  }
  g.output(DISTILL_OUTPUTS.loss, loss);
  g.output(DISTILL_OUTPUTS.logQ, logQ);
  g.output(DISTILL_OUTPUTS.logP, logP);
  g.output(DISTILL_OUTPUTS.x, s[SAMPLE_OUTPUTS.x]!);
  return g.build();
}

/** A flow's parameter arrays (not copies) under `prefix` + their names. */
function prefixedParams(flow: Flow, prefix: string): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(flow.params).map(([k, p]) => [`${prefix}${k}`, p.data]));
}

/** The teacher's parameters under their distillation-graph names (fed, never updated). */
export function teacherParams(teacher: Flow): Record<string, Float32Array> {
  return prefixedParams(teacher, TEACHER_PREFIX);
}

/**
 * The student's parameters under their `student-stop/` names, for a graph built with
 * `pathGradient`: the same arrays as `student.params` (not copies), so that a trainer that
 * updates the student in place feeds the current values every step.
 */
export function studentStopParams(student: Flow): Record<string, Float32Array> {
  return prefixedParams(student, STUDENT_STOP_PREFIX);
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
