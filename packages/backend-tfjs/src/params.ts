import * as tf from '@tensorflow/tfjs-core';
import type { Flow } from '@bijective/core';

export interface ParamSetOptions {
  /** Hold trainable parameters as `tf.Variable`s (training); fixed ones stay plain tensors. */
  variables?: boolean;
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

/**
 * A flow's parameters on the active tfjs backend. `flow.params` (Float32Array) stays the
 * source of truth every runtime reads: {@link refresh} re-uploads what changed there,
 * {@link writeBack} copies trained values back into it.
 */
export class ParamSet {
  readonly tensors: Record<string, tf.Tensor> = {};
  /** The trainable parameters as variables (empty unless `variables` was asked for). */
  readonly variables: Record<string, tf.Variable> = {};
  /** What was last uploaded, to notice changes to `flow.params`. */
  private readonly uploaded: Record<string, Float32Array> = {};
  private disposed = false;

  constructor(
    readonly flow: Flow,
    private readonly options: ParamSetOptions = {},
  ) {
    for (const name of Object.keys(flow.params)) this.upload(name);
  }

  private trainable(name: string): boolean {
    return this.flow.paramDecls[name]?.trainable !== false;
  }

  private upload(name: string): void {
    const p = this.flow.params[name]!;
    const values = Float32Array.from(p.data);
    this.uploaded[name] = values;
    const old = this.tensors[name];
    if (old instanceof tf.Variable) {
      old.assign(tf.tensor(values, p.shape, 'float32'));
      return;
    }
    old?.dispose();
    // A copy (tfjs may keep a reference to the array it is given), kept past any enclosing tidy.
    const t = tf.keep(tf.tensor(values.slice(), p.shape, 'float32'));
    if (this.options.variables && this.trainable(name)) {
      const v = tf.variable(t, true, `bijective/${name}/${variableIds++}`);
      t.dispose();
      this.tensors[name] = v;
      this.variables[name] = v;
    } else this.tensors[name] = t;
  }

  /** Re-uploads every parameter whose values in `flow.params` changed since the last upload. */
  refresh(): void {
    this.check();
    for (const [name, p] of Object.entries(this.flow.params)) {
      const last = this.uploaded[name];
      if (!last || !sameValues(last, p.data)) tf.tidy(() => this.upload(name));
    }
  }

  /** Copies the current values of every parameter back into `flow.params`. */
  async writeBack(): Promise<void> {
    this.check();
    for (const [name, t] of Object.entries(this.tensors)) {
      const values = (await t.data()) as Float32Array;
      this.flow.params[name]!.data.set(values);
      this.uploaded[name] = Float32Array.from(values);
    }
  }

  /** Reads every parameter (host copies). */
  async read(): Promise<Record<string, Float32Array>> {
    this.check();
    const out: Record<string, Float32Array> = {};
    for (const [name, t] of Object.entries(this.tensors)) out[name] = Float32Array.from((await t.data()) as Float32Array);
    return out;
  }

  /** Sets parameters from host values (restoring a snapshot); absent names are left alone. */
  assign(values: Readonly<Record<string, Float32Array>>): void {
    this.check();
    for (const [name, v] of Object.entries(values)) {
      const t = this.tensors[name];
      if (!t) continue;
      tf.tidy(() => {
        if (t instanceof tf.Variable) t.assign(tf.tensor(v, t.shape, 'float32'));
        else {
          t.dispose();
          this.tensors[name] = tf.keep(tf.tensor(v.slice(), t.shape, 'float32'));
        }
      });
      this.uploaded[name] = Float32Array.from(v);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of Object.values(this.tensors)) t.dispose();
  }

  private check(): void {
    if (this.disposed) throw new Error('tfjs: the parameters were disposed');
  }
}

let variableIds = 0;
