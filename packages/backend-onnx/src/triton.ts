import { ONNX_NAMES, type OnnxExport } from './export.js';

/**
 * Triton Inference Server model repositories for exported flows
 * (https://github.com/triton-inference-server/server, docs/user_guide/model_configuration.md):
 *
 * ```
 * <repo>/<name>_log_prob/config.pbtxt
 * <repo>/<name>_log_prob/1/model.onnx
 * <repo>/<name>_sample/config.pbtxt
 * <repo>/<name>_sample/1/model.onnx
 * ```
 *
 * Each config uses the `onnxruntime_onnx` platform with dynamic batching; `dims` exclude
 * the batch dimension (Triton adds it, up to `max_batch_size`). Per-example scalars
 * (`log_prob`, `log_det`, shape `[N]`) are declared `dims: [ 1 ]` with `reshape: { shape: [ ] }`,
 * Triton's way of saying the model itself has no dimension after the batch.
 */
export interface TritonOptions {
  /** Largest batch Triton forms (default 256). */
  maxBatchSize?: number;
  /** Batch sizes the scheduler prefers to form (default none). */
  preferredBatchSizes?: number[];
  /** How long a request may wait for others to batch with (default 100 µs). */
  maxQueueDelayMicroseconds?: number;
  /** Where model instances run (default: Triton's choice, a GPU when there is one). */
  instanceKind?: 'KIND_CPU' | 'KIND_GPU';
}

interface TensorConfig {
  name: string;
  dims: readonly number[];
}

/** A Triton model name: letters, digits, `_` and `-` (file-system and URL safe). */
export function tritonModelName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_-]+/g, '_');
  return safe.length > 0 ? safe : 'flow';
}

function tensorBlock(t: TensorConfig): string {
  const scalar = t.dims.length === 0;
  const lines = ['  {', `    name: "${t.name}"`, '    data_type: TYPE_FP32', `    dims: [ ${scalar ? '1' : t.dims.join(', ')} ]`];
  if (scalar) lines.push('    reshape: { shape: [ ] }');
  lines.push('  }');
  return lines.join('\n');
}

/** The `config.pbtxt` of one model (protobuf text format). */
export function tritonConfig(name: string, inputs: readonly TensorConfig[], outputs: readonly TensorConfig[], options: TritonOptions = {}): string {
  const maxBatch = options.maxBatchSize ?? 256;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`triton: maxBatchSize must be a positive integer, got ${maxBatch}`);
  const batching = [`dynamic_batching {`];
  if (options.preferredBatchSizes?.length) batching.push(`  preferred_batch_size: [ ${options.preferredBatchSizes.join(', ')} ]`);
  batching.push(`  max_queue_delay_microseconds: ${options.maxQueueDelayMicroseconds ?? 100}`, '}');
  const parts = [
    `name: "${name}"`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${maxBatch}`,
    `input [\n${inputs.map(tensorBlock).join(',\n')}\n]`,
    `output [\n${outputs.map(tensorBlock).join(',\n')}\n]`,
    batching.join('\n'),
  ];
  if (options.instanceKind) parts.push(`instance_group [\n  {\n    count: 1\n    kind: ${options.instanceKind}\n  }\n]`);
  return `${parts.join('\n')}\n`;
}

/** Every file of the repository, by path relative to the repository root. */
export function tritonRepository(name: string, models: OnnxExport, event: readonly number[], options: TritonOptions = {}): Record<string, Uint8Array | string> {
  const base = tritonModelName(name);
  const logProb = `${base}_log_prob`;
  const sample = `${base}_sample`;
  return {
    [`${logProb}/config.pbtxt`]: tritonConfig(
      logProb,
      [{ name: ONNX_NAMES.x, dims: event }],
      [
        { name: ONNX_NAMES.logProb, dims: [] },
        { name: ONNX_NAMES.z, dims: event },
        { name: ONNX_NAMES.logDet, dims: [] },
      ],
      options,
    ),
    [`${logProb}/1/model.onnx`]: models.logProb,
    [`${sample}/config.pbtxt`]: tritonConfig(sample, [{ name: ONNX_NAMES.z, dims: event }], [{ name: ONNX_NAMES.x, dims: event }], options),
    [`${sample}/1/model.onnx`]: models.sample,
  };
}
