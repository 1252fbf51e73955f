import * as tf from '@tensorflow/tfjs-core';
import { formatShape, type GradientEngine, type GradientOptions, type GradientProgram, type Graph, type Tensor } from '@bijective/core';
import { registerGradients } from './gradients.js';
import { GraphProgram } from './program.js';
import { startEngine } from './runtime.js';
import type { Engine } from './engines.js';

function toFloat32(data: Float32Array | Float64Array): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/**
 * Loss and parameter gradients of a core graph on a tfjs engine: the graph runs through this
 * package's lowering ({@link GraphProgram}) under tfjs' tape (`engine.gradients`, with the
 * kernel gradients of `gradients.ts` and the custom gradients of the host linear algebra).
 * Parameters arrive as host arrays each run (the trainer owns them and updates them with
 * core's Adam); the gradients come back as one concatenated read (one device sync a step),
 * split into per-parameter views.
 */
class TfjsGradientProgram implements GradientProgram {
  readonly engine: string;
  private readonly program: GraphProgram;
  private readonly outputs: readonly string[];
  private disposed = false;

  constructor(
    private readonly started: Engine,
    private readonly graph: Graph,
    private readonly options: GradientOptions,
  ) {
    this.engine = started.name;
    this.program = new GraphProgram(graph);
    this.outputs = options.outputs ?? [];
  }

  async run(inputs: Readonly<Record<string, Tensor>>, params: Readonly<Record<string, Float32Array>>) {
    if (this.disposed) throw new Error(`${this.engine}: the gradient program was disposed`);
    await this.started.activate();
    const { loss: lossName, wrt } = this.options;
    const tensors: Record<string, tf.Tensor> = {};
    const feeds: Record<string, tf.Tensor> = {};
    let kept: tf.Tensor[] = [];
    try {
      for (const [name, shape] of Object.entries(this.graph.params)) {
        const p = params[name];
        const size = shape.reduce<number>((a, d) => a * (d as number), 1);
        if (!p || p.length !== size) throw new Error(`${this.engine}: parameter '${name}' needs ${size} values (shape ${formatShape(shape)}), got ${p ? p.length : 'none'}`);
        tensors[name] = tf.tensor(p, shape as number[], 'float32');
      }
      for (const [name, t] of Object.entries(inputs)) feeds[name] = tf.tensor(toFloat32(t.data), t.shape, 'float32');
      const prepared = await this.program.prepare(tensors);
      let lossT: tf.Tensor;
      let flat: tf.Tensor | undefined;
      const extras: Record<string, tf.Tensor> = {};
      if (wrt.length === 0) {
        lossT = tf.tidy(() => {
          const all = this.program.run(feeds, tensors, prepared, { release: true });
          for (const o of this.outputs) extras[o] = tf.keep(all[o]!);
          return tf.reshape(all[lossName]!, [1]);
        });
      } else {
        const xs = wrt.map((n) => tensors[n]!);
        const { value, grads } = tf.engine().gradients(
          () => {
            const all = this.program.run(feeds, tensors, prepared);
            for (const o of this.outputs) extras[o] = tf.keep(all[o]!);
            return tf.reshape(all[lossName]!, []) as tf.Scalar;
          },
          xs,
          undefined,
          true,
        );
        lossT = value;
        // One vector [loss, ∂/∂θ₁…, ∂/∂θₖ…]: a single read brings back the step's numbers.
        flat = tf.tidy(() => tf.concat([tf.reshape(value, [1]), ...grads.map((g, i) => tf.reshape(g ?? tf.zerosLike(xs[i]!), [-1]))]));
        kept = grads.filter((g): g is tf.Tensor => g !== null);
      }
      kept.push(lossT, ...Object.values(extras));
      const values = (await (flat ?? lossT).data()) as Float32Array;
      flat?.dispose();
      const grads: Record<string, Float32Array> = {};
      let at = 1;
      for (const n of wrt) {
        const size = tensors[n]!.size;
        grads[n] = values.subarray(at, at + size);
        at += size;
      }
      const outputs: Record<string, Float32Array> = {};
      for (const o of this.outputs) outputs[o] = (await extras[o]!.data()) as Float32Array;
      return { loss: values[0]!, outputs, grads };
    } finally {
      tf.dispose([...Object.values(tensors), ...Object.values(feeds), ...kept]);
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.program.dispose();
  }
}

/** Names every output a program is asked for, refusing one the graph lacks. */
function checkOptions(graph: Graph, options: GradientOptions, engine: string): void {
  for (const o of [options.loss, ...(options.outputs ?? [])]) {
    if (!(o in graph.outputs)) throw new Error(`${engine}: the graph has no output '${o}' (outputs: ${Object.keys(graph.outputs).join(', ')})`);
  }
  const shape = graph.nodes[graph.outputs[options.loss]!]!.shape;
  if (!(shape.length === 0 || (shape.length === 1 && shape[0] === 1))) throw new Error(`${engine}: the loss output '${options.loss}' must be a scalar ([] or [1]), got ${formatShape(shape)}`);
  for (const n of options.wrt) if (!(n in graph.params)) throw new Error(`${engine}: cannot differentiate with respect to '${n}': the graph has no such parameter`);
}

/** The GradientEngine of a tfjs engine (`tfjs-cpu`, `tfjs-wasm`, ...; `auto`: the fastest available). */
export async function tfjsGradients(engine?: string): Promise<GradientEngine> {
  registerGradients();
  const started = await startEngine(engine);
  return {
    engine: started.name,
    async compile(graph, options) {
      checkOptions(graph, options, started.name);
      return new TfjsGradientProgram(started, graph, options);
    },
  };
}
