import * as tf from '@tensorflow/tfjs-core';
import { CONTEXT_INPUT, DENSITY_OUTPUTS, traceFlow, type Flow } from '@bijective/core';
import { registerGradients } from './gradients.js';
import type { ParamSet } from './params.js';
import { GraphProgram } from './program.js';

/** The density graph's inputs: `x`, and a conditional flow's `context`. */
export function feeds(x: tf.Tensor, context: tf.Tensor | undefined): Record<string, tf.Tensor> {
  return context ? { x, [CONTEXT_INPUT]: context } : { x };
}

export interface LossAndGrads {
  /** −mean log p(x) over the batch, in nats per example. */
  readonly loss: tf.Scalar;
  /** ∂loss/∂θ for every trainable parameter, by parameter name. */
  readonly grads: Record<string, tf.Tensor>;
}

/**
 * The maximum-likelihood objective of a flow on tfjs: the negative mean log-density of a
 * batch, and its gradients with respect to the trainable parameters of a {@link ParamSet}
 * made with `variables: true`. The density graph is traced once, at construction (so
 * after any data-dependent initialisation, which changes what the trace emits).
 */
export class DensityObjective {
  readonly program: GraphProgram;
  private readonly names = new Map<string, string>();

  constructor(
    readonly flow: Flow,
    readonly params: ParamSet,
  ) {
    registerGradients();
    this.program = new GraphProgram(traceFlow(flow, 'density'));
    for (const [name, v] of Object.entries(params.variables)) this.names.set(v.name, name);
    if (this.names.size === 0) throw new Error('DensityObjective: the parameter set holds no variables (make it with { variables: true })');
  }

  /** Loss and gradients on the batch `x` `[N, ...event]` (with its `context` `[N, K]` for a conditional flow; tensors the caller disposes). */
  async lossAndGrads(x: tf.Tensor, context?: tf.Tensor): Promise<LossAndGrads> {
    const prepared = await this.program.prepare(this.params.tensors);
    const vars = Object.values(this.params.variables);
    const { value, grads } = tf.variableGrads(() => {
      const logProb = this.program.run(feeds(x, context), this.params.tensors, prepared)[DENSITY_OUTPUTS.logProb]!;
      return tf.neg(tf.mean(logProb)) as tf.Scalar;
    }, vars);
    const byParam: Record<string, tf.Tensor> = {};
    for (const v of vars) {
      const g = grads[v.name];
      byParam[this.names.get(v.name)!] = g ?? tf.zerosLike(v);
    }
    return { loss: value, grads: byParam };
  }

  /** −mean log p(x) without gradients. */
  async loss(x: tf.Tensor, context?: tf.Tensor): Promise<number> {
    const prepared = await this.program.prepare(this.params.tensors);
    const loss = tf.tidy(() => tf.neg(tf.mean(this.program.run(feeds(x, context), this.params.tensors, prepared, { release: true })[DENSITY_OUTPUTS.logProb]!)));
    const v = (await loss.data())[0]!;
    loss.dispose();
    return v;
  }

  dispose(): void {
    this.program.dispose();
  }
}
