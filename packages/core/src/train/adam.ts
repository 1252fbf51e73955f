export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** Adam's state: the update count and both moments of every parameter (float32, as checkpoints store them). */
export interface AdamState {
  t: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

/** Parameters or gradients on the host, by name. */
export type HostArrays = Readonly<Record<string, Float32Array | Float64Array>>;

/**
 * Adam (Kingma & Ba 2015, https://arxiv.org/abs/1412.6980), in PyTorch's form, on plain arrays:
 *
 *   g ← s · ∇θ  (s: the clipping factor),   m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²,
 *   θ ← θ − lr · m̂ / (√v̂ + ε),   m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ).
 *
 * Each element is computed in float64 and the moments are stored in float32 (what a
 * checkpoint holds, so a resumed run continues from exactly the stored state); the
 * parameters keep their own precision (Float32Array or Float64Array). Engine-independent:
 * every engine's trainer updates its parameters here, on the host.
 */
export class Adam {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Updates applied so far. */
  t = 0;
  private readonly m: Record<string, Float32Array> = {};
  private readonly v: Record<string, Float32Array> = {};

  /** `sizes`: the number of values of every parameter Adam updates, by name. */
  constructor(
    readonly sizes: Readonly<Record<string, number>>,
    options: AdamOptions = {},
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    for (const [k, b] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new RangeError(`Adam: ${k} must be in [0, 1), got ${b}`);
    }
    if (!(this.epsilon > 0)) throw new RangeError(`Adam: epsilon must be positive, got ${this.epsilon}`);
    for (const [name, n] of Object.entries(sizes)) {
      this.m[name] = new Float32Array(n);
      this.v[name] = new Float32Array(n);
    }
  }

  /** One update of `params` (in place) with `grads` multiplied by `gradScale` (clipping). */
  step(params: HostArrays, grads: HostArrays, lr: number, gradScale = 1): void {
    for (const [name, n] of Object.entries(this.sizes)) {
      const p = params[name];
      const g = grads[name];
      if (!p || p.length !== n) throw new Error(`Adam: parameter '${name}' must have ${n} values, got ${p ? p.length : 'none'}`);
      if (!g || g.length !== n) throw new Error(`Adam: gradient of '${name}' must have ${n} values, got ${g ? g.length : 'none'}`);
    }
    this.t += 1;
    const { beta1: b1, beta2: b2, epsilon } = this;
    const a = lr / (1 - b1 ** this.t);
    const c2 = 1 / (1 - b2 ** this.t);
    for (const name of Object.keys(this.sizes)) {
      const p = params[name]!;
      const g = grads[name]!;
      const m = this.m[name]!;
      const v = this.v[name]!;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]! * gradScale;
        m[i] = b1 * m[i]! + (1 - b1) * gi;
        v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
        p[i] = p[i]! - (a * m[i]!) / (Math.sqrt(v[i]! * c2) + epsilon);
      }
    }
  }

  /** A copy of the state (for snapshots and checkpoints). */
  state(): AdamState {
    const copy = (r: Record<string, Float32Array>) => Object.fromEntries(Object.entries(r).map(([k, a]) => [k, a.slice()]));
    return { t: this.t, m: copy(this.m), v: copy(this.v) };
  }

  /** Sets the state from a snapshot or checkpoint; every parameter needs both moments of its size. */
  restore(state: AdamState): void {
    for (const [name, n] of Object.entries(this.sizes)) {
      const ms = state.m[name];
      const vs = state.v[name];
      if (!ms || !vs || ms.length !== n || vs.length !== n) throw new Error(`Adam.restore: no saved moments of ${n} values for parameter '${name}'`);
    }
    for (const name of Object.keys(this.sizes)) {
      this.m[name]!.set(state.m[name]!);
      this.v[name]!.set(state.v[name]!);
    }
    this.t = state.t;
  }
}
