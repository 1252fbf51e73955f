import * as tf from '@tensorflow/tfjs-core';

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** Adam's state on the host: the update count and both moments of every parameter. */
export interface AdamState {
  t: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

/**
 * Adam (Kingma & Ba 2015, https://arxiv.org/abs/1412.6980), in PyTorch's form:
 *   m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²,
 *   θ ← θ − lr · m̂ / (√v̂ + ε),   m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ).
 * Written here rather than taken from `tf.train.adam` so the moments can be saved and
 * restored exactly (checkpoints, rollback) and the gradient scaled (clipping) in the same
 * pass. The moments of all parameters live in two flat vectors and the update runs on the
 * concatenated gradient: a dozen kernels per step instead of a dozen per parameter (tfjs
 * spends ~10–20 µs per kernel, which dominates for flows of many small tensors).
 */
export class Adam {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Updates applied so far. */
  t = 0;
  private readonly names: string[];
  private readonly sizes: number[];
  private readonly m: tf.Variable;
  private readonly v: tf.Variable;

  constructor(
    private readonly params: Readonly<Record<string, tf.Variable>>,
    options: AdamOptions = {},
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.names = Object.keys(params);
    this.sizes = this.names.map((n) => params[n]!.size);
    const total = this.sizes.reduce((a, b) => a + b, 0);
    // tidy: the zeros the variables are made from are freed (a variable holds its own reference).
    this.m = tf.tidy(() => tf.variable(tf.zeros([total]), false));
    this.v = tf.tidy(() => tf.variable(tf.zeros([total]), false));
  }

  /** The gradients (by parameter name) as one flat vector in this optimizer's order. */
  flatten(grads: Readonly<Record<string, tf.Tensor>>): tf.Tensor1D {
    return tf.tidy(() => {
      const parts = this.names.map((n) => {
        const g = grads[n];
        if (!g) throw new Error(`Adam: no gradient for parameter '${n}'`);
        return tf.reshape(g, [-1]);
      });
      return (parts.length === 1 ? tf.clone(parts[0]!) : tf.concat(parts)) as tf.Tensor1D;
    });
  }

  /** One update with the flat gradient `g` (see {@link flatten}) multiplied by `gradScale` (clipping). */
  apply(flatGrad: tf.Tensor1D, lr: number, gradScale = 1): void {
    this.t += 1;
    const { beta1: b1, beta2: b2, epsilon } = this;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    tf.tidy(() => {
      const g = gradScale === 1 ? flatGrad : tf.mul(flatGrad, gradScale);
      const m = tf.add(tf.mul(this.m, b1), tf.mul(g, 1 - b1));
      const v = tf.add(tf.mul(this.v, b2), tf.mul(tf.square(g), 1 - b2));
      this.m.assign(m);
      this.v.assign(v);
      const step = tf.div(tf.mul(m, lr / c1), tf.add(tf.sqrt(tf.mul(v, 1 / c2)), epsilon));
      const pieces = this.names.length === 1 ? [step] : tf.split(step, this.sizes);
      this.names.forEach((n, i) => {
        const p = this.params[n]!;
        p.assign(tf.sub(p, tf.reshape(pieces[i]!, p.shape)));
      });
    });
  }

  async state(): Promise<AdamState> {
    const mAll = (await this.m.data()) as Float32Array;
    const vAll = (await this.v.data()) as Float32Array;
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    let at = 0;
    this.names.forEach((n, i) => {
      const size = this.sizes[i]!;
      m[n] = mAll.slice(at, at + size);
      v[n] = vAll.slice(at, at + size);
      at += size;
    });
    return { t: this.t, m, v };
  }

  restore(state: AdamState): void {
    const total = this.sizes.reduce((a, b) => a + b, 0);
    const m = new Float32Array(total);
    const v = new Float32Array(total);
    let at = 0;
    this.names.forEach((n, i) => {
      const ms = state.m[n];
      const vs = state.v[n];
      if (!ms || !vs || ms.length !== this.sizes[i] || vs.length !== this.sizes[i]) {
        throw new Error(`Adam.restore: no saved moments of ${this.sizes[i]} values for parameter '${n}'`);
      }
      m.set(ms, at);
      v.set(vs, at);
      at += this.sizes[i]!;
    });
    tf.tidy(() => {
      this.m.assign(tf.tensor1d(m));
      this.v.assign(tf.tensor1d(v));
    });
    this.t = state.t;
  }

  dispose(): void {
    this.m.dispose();
    this.v.dispose();
  }
}
