import * as tf from '@tensorflow/tfjs-core';
import {
  DENSITY_OUTPUTS,
  SAMPLE_OUTPUTS,
  CONTEXT_INPUT,
  guardRuntime,
  traceFlow,
  type Flow,
  type FlowRuntime,
  type Graph,
  type Tensor,
} from '@bijective/core';
import { listEngines, useEngine, type Engine } from './engines.js';
import { ParamSet } from './params.js';
import { GraphProgram } from './program.js';

export interface TfjsRuntimeOptions {
  /** A tfjs engine name (`tfjs-wasm`, `tfjs-cpu`, ...) or `auto` (default): the fastest available. */
  engine?: string;
}

export interface TfjsRuntime extends FlowRuntime {
  readonly engine: string;
}

const AUTO_ORDER = ['tfjs-node-gpu', 'tfjs-node', 'tfjs-webgl', 'tfjs-wasm', 'tfjs-cpu'] as const;

/** Starts `name`, or for `auto` the first available engine of {@link AUTO_ORDER}. */
export async function startEngine(name: string | undefined): Promise<Engine> {
  if (name !== undefined && name !== 'auto') return useEngine(name);
  const available = new Set((await listEngines()).filter((e) => e.available).map((e) => e.engine));
  return useEngine(AUTO_ORDER.find((e) => available.has(e)) ?? 'tfjs-cpu');
}

function toFloat32(data: Float32Array | Float64Array): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/**
 * Runs a flow on TensorFlow.js. Graphs are traced on first use; parameters are uploaded
 * once and re-uploaded when `flow.params` changes (so training updates show up). The edge
 * checks (shapes, context, noise for `sample`, use after dispose) are core's `guardRuntime`.
 */
export async function tfjsRuntime(flow: Flow, options: TfjsRuntimeOptions = {}): Promise<TfjsRuntime> {
  const engine = await startEngine(options.engine);
  const params = new ParamSet(flow);
  const programs = new Map<'density' | 'sample', GraphProgram>();

  const program = (direction: 'density' | 'sample'): GraphProgram => {
    let p = programs.get(direction);
    if (!p) {
      const graph: Graph = traceFlow(flow, direction);
      p = new GraphProgram(graph);
      programs.set(direction, p);
    }
    return p;
  };

  /** Runs one graph on one input and reads the named outputs back. */
  const run = async (direction: 'density' | 'sample', input: string, t: Tensor, outputs: readonly string[], context?: Tensor) => {
    await engine.activate();
    params.refresh();
    const prog = program(direction);
    const prepared = await prog.prepare(params.tensors);
    const outs = tf.tidy(() => {
      const x = tf.tensor(toFloat32(t.data), t.shape, 'float32');
      const feeds: Record<string, tf.Tensor> = { [input]: x };
      if (context) feeds[CONTEXT_INPUT] = tf.tensor(toFloat32(context.data), context.shape, 'float32');
      const all = prog.run(feeds, params.tensors, prepared, { release: true });
      const picked: Record<string, tf.Tensor> = {};
      for (const o of outputs) picked[o] = all[o]!;
      return picked;
    });
    try {
      const result: Record<string, { data: Float32Array; shape: number[] }> = {};
      for (const o of outputs) result[o] = { data: (await outs[o]!.data()) as Float32Array, shape: outs[o]!.shape };
      return result;
    } finally {
      for (const t of Object.values(outs)) t.dispose();
    }
  };

  return guardRuntime(
    {
      engine: engine.name,
      async logProb(x, options) {
        return (await run('density', 'x', x, [DENSITY_OUTPUTS.logProb], options?.context))[DENSITY_OUTPUTS.logProb]!.data;
      },
      async encode(x, options) {
        const out = await run('density', 'x', x, [DENSITY_OUTPUTS.z, DENSITY_OUTPUTS.logDet], options?.context);
        return { z: out[DENSITY_OUTPUTS.z]!, logDet: out[DENSITY_OUTPUTS.logDet]!.data };
      },
      async decode(z, options) {
        return (await run('sample', 'z', z, [SAMPLE_OUTPUTS.x], options?.context))[SAMPLE_OUTPUTS.x]!;
      },
      async dispose() {
        for (const p of programs.values()) p.dispose();
        params.dispose();
      },
    },
    flow.spec,
  );
}
