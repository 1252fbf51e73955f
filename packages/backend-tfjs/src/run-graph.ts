import * as tf from '@tensorflow/tfjs-core';
import type { Graph, ParamTensor, Tensor } from '@bijective/core';
import { GraphProgram } from './program.js';
import { startEngine } from './runtime.js';

/**
 * Runs any core graph once on a tfjs engine: inputs and parameters in, every output out
 * (float32; bool outputs as 0/1). For tests and tools; flows use {@link tfjsRuntime}.
 */
export async function runGraphTfjs(
  graph: Graph,
  inputs: Readonly<Record<string, Tensor>>,
  params: Readonly<Record<string, ParamTensor>>,
  options: { engine?: string } = {},
): Promise<Record<string, { data: Float32Array; shape: number[] }>> {
  const engine = await startEngine(options.engine);
  await engine.activate();
  const program = new GraphProgram(graph);
  const paramTensors: Record<string, tf.Tensor> = {};
  try {
    for (const [name, p] of Object.entries(params)) paramTensors[name] = tf.tensor(Float32Array.from(p.data), p.shape, 'float32');
    const prepared = await program.prepare(paramTensors);
    const outs = tf.tidy(() => {
      const ins: Record<string, tf.Tensor> = {};
      for (const [name, t] of Object.entries(inputs)) ins[name] = tf.tensor(Float32Array.from(t.data), t.shape, 'float32');
      const all = program.run(ins, paramTensors, prepared, { release: true });
      const out: Record<string, tf.Tensor> = {};
      for (const [name, t] of Object.entries(all)) out[name] = t.dtype === 'float32' ? t : tf.cast(t, 'float32');
      return out;
    });
    const result: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const [name, t] of Object.entries(outs)) {
      result[name] = { data: (await t.data()) as Float32Array, shape: t.shape };
      t.dispose();
    }
    return result;
  } finally {
    program.dispose();
    for (const t of Object.values(paramTensors)) t.dispose();
  }
}
