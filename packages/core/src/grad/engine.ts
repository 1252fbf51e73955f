import type { GradientEngine, GradientProgram } from '../engine/types.js';
import { GraphError } from '../graph/graph.js';
import { runGraph } from '../reference/interpreter.js';
import type { RefTensor } from '../reference/kernels.js';
import { formatShape, sizeOf } from '../tensor.js';
import { gradName, gradients } from './gradients.js';

/**
 * The reference GradientEngine: the gradient graph of {@link gradients} run by the float64
 * interpreter. Exact up to float64 rounding — the oracle every training engine is checked
 * against. Parameters arrive as float32 (the trainer's weights) and are widened; gradients
 * are returned as float32 as the {@link GradientProgram} contract says.
 */
export const referenceGradientEngine: GradientEngine = {
  engine: 'reference',
  async compile(graph, options): Promise<GradientProgram> {
    const keep = options.outputs ?? [];
    const grad = gradients(graph, { of: options.loss, wrt: options.wrt, keep });
    let disposed = false;
    return {
      engine: 'reference',
      async run(inputs, params) {
        if (disposed) throw new Error('reference gradients: run after dispose');
        const refParams: Record<string, RefTensor> = {};
        for (const [name, shape] of Object.entries(graph.params)) {
          const p = params[name];
          const size = sizeOf(shape as number[]);
          if (!p) throw new GraphError(`reference gradients: parameter '${name}' ${formatShape(shape)} was not given`);
          if (p.length !== size) throw new GraphError(`reference gradients: parameter '${name}' has ${p.length} values, expected ${size} for ${formatShape(shape)}`);
          refParams[name] = { data: Float64Array.from(p), shape: shape as number[] };
        }
        const refInputs: Record<string, RefTensor> = {};
        let batch = 1;
        for (const name of Object.keys(graph.inputs)) {
          const t = inputs[name];
          if (!t) throw new GraphError(`reference gradients: input '${name}' was not given; inputs: ${Object.keys(graph.inputs).join(', ')}`);
          refInputs[name] = { data: t.data instanceof Float64Array ? t.data : Float64Array.from(t.data), shape: t.shape };
          batch = t.shape[0] ?? 1;
        }
        const out = runGraph(grad, { params: refParams, inputs: refInputs, batch });
        return {
          loss: out[options.loss]!.data[0]!,
          outputs: Object.fromEntries(keep.map((k) => [k, out[k]!.data])),
          grads: Object.fromEntries(options.wrt.map((p) => [p, Float32Array.from(out[gradName(p)]!.data)])),
        };
      },
      async dispose() {
        disposed = true;
      },
    };
  },
};
