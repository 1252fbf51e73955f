import { CONTEXT_INPUT, DENSITY_OUTPUTS, SAMPLE_OUTPUTS, VERSION, latentPieces, traceFlow, type Flow } from '@bijective/core';
import { lowerGraph, type LoopLowering } from './lower.js';
import { encodeModel } from './model.js';

/** Input and output names of the exported models. */
export const ONNX_NAMES = {
  x: 'x',
  z: 'z',
  /** Conditional flows only: the second input of both models, `[N, K]`. */
  context: 'context',
  logProb: 'log_prob',
  logDet: 'log_det',
} as const;

/** Keys of the `metadata_props` every exported model carries. */
export const METADATA_KEYS = {
  /** `'log_prob'` or `'sample'`: which direction the file computes. */
  role: 'bijective.role',
  /** The flow spec (JSON, every default filled in). */
  spec: 'bijective.spec',
  /** The Bijective version that wrote the file. */
  version: 'bijective.version',
  /** The event shape without the batch dimension (JSON), e.g. `[1,28,28]`. */
  event: 'bijective.event',
  /** The latent layout: shapes of the pieces concatenated (flattened, in this order) into `z` (JSON). */
  latentLayout: 'bijective.latent_layout',
  /** `'unroll'`, `'loop'` or `'auto'`: how sequential directions were lowered. */
  loops: 'bijective.loops',
  /** Training metrics, when given (JSON object). */
  metrics: 'bijective.metrics',
} as const;

export type ModelRole = 'log_prob' | 'sample';

export interface ExportOptions {
  /** How loops (MAF sampling, IAF density) are lowered; default `'auto'` (short loops unrolled, long ones ONNX Loop). */
  loops?: LoopLowering;
  /** Training metrics to record in `metadata_props` (e.g. `{ bitsPerDim: 1.23, epochs: 40 }`). */
  metrics?: Record<string, number | string | boolean>;
  /** Model name (graph names, Triton model names); default the spec's `name`, else `'flow'`. */
  name?: string;
}

/** The two exported models, as `.onnx` file contents. */
export interface OnnxExport {
  /** `log_prob.onnx`: input `x` `[N, ...event]` → `log_prob` `[N]` (nats), `z` `[N, ...event]`, `log_det` `[N]`. */
  logProb: Uint8Array;
  /** `sample.onnx`: input `z` `[N, ...event]` (base noise, already scaled by temperature) → `x` `[N, ...event]`. */
  sample: Uint8Array;
}

export function modelName(flow: Flow, options: ExportOptions = {}): string {
  return options.name ?? flow.spec.name ?? 'flow';
}

function metadata(flow: Flow, role: ModelRole, options: ExportOptions): Record<string, string> {
  const m: Record<string, string> = {
    [METADATA_KEYS.role]: role,
    [METADATA_KEYS.spec]: JSON.stringify(flow.spec),
    [METADATA_KEYS.version]: VERSION,
    [METADATA_KEYS.event]: JSON.stringify(flow.spec.event),
    [METADATA_KEYS.latentLayout]: JSON.stringify(latentPieces(flow)),
    [METADATA_KEYS.loops]: options.loops ?? 'auto',
  };
  if (options.metrics) m[METADATA_KEYS.metrics] = JSON.stringify(options.metrics);
  return m;
}

const LAYOUT_DOC =
  'For multi-scale flows z is the full latent: the pieces factored out by each split, in the order the density pass emits them, then the last level, each flattened row-major and concatenated, then reshaped to the event shape (metadata bijective.latent_layout lists the pieces).';

/**
 * Exports `flow` as two ONNX models (opset 17, IR 8), each with a dynamic batch
 * dimension `N`: `log_prob.onnx` (density) and `sample.onnx` (sampling from given
 * noise). Parameters become initializers; parameter-only values (LU-composed weights,
 * log-determinants of weights, masked weights) are evaluated once here in float64 and
 * embedded as float32. The spec, library version and metrics go to `metadata_props`.
 */
export function exportOnnx(flow: Flow, options: ExportOptions = {}): OnnxExport {
  const name = modelName(flow, options);
  const lowerOptions = { loops: options.loops ?? 'auto' };
  const density = lowerGraph(
    traceFlow(flow, 'density'),
    flow.params,
    {
      inputs: { x: ONNX_NAMES.x, ...(flow.spec.context ? { [CONTEXT_INPUT]: ONNX_NAMES.context } : {}) },
      outputs: { [DENSITY_OUTPUTS.logProb]: ONNX_NAMES.logProb, [DENSITY_OUTPUTS.z]: ONNX_NAMES.z, [DENSITY_OUTPUTS.logDet]: ONNX_NAMES.logDet },
    },
    { ...lowerOptions, name: `${name}_log_prob` },
  );
  const sample = lowerGraph(
    traceFlow(flow, 'sample'),
    flow.params,
    { inputs: { z: ONNX_NAMES.z, ...(flow.spec.context ? { [CONTEXT_INPUT]: ONNX_NAMES.context } : {}) }, outputs: { [SAMPLE_OUTPUTS.x]: ONNX_NAMES.x } },
    { ...lowerOptions, name: `${name}_sample` },
  );
  return {
    logProb: encodeModel(density.graph, {
      producerVersion: VERSION,
      docString: `Bijective flow '${name}', density: x [N, ${flow.spec.event.join(', ')}]${flow.spec.context ? ` and context [N, ${flow.spec.context[0]}]` : ''} -> log_prob [N] (nats), z (same shape as x), log_det [N] = log|det dz/dx|. ${LAYOUT_DOC}`,
      metadata: metadata(flow, 'log_prob', options),
    }),
    sample: encodeModel(sample.graph, {
      producerVersion: VERSION,
      docString: `Bijective flow '${name}', sampling: z [N, ${flow.spec.event.join(', ')}] (standard normal noise times the temperature)${flow.spec.context ? ` and context [N, ${flow.spec.context[0]}]` : ''} -> x. ${LAYOUT_DOC}`,
      metadata: metadata(flow, 'sample', options),
    }),
  };
}
