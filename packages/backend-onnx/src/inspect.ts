import { formatShape, type FlowSpec } from '@bijective/core';
import { METADATA_KEYS, ONNX_NAMES, type ModelRole } from './export.js';
import { onnx } from './proto.js';
import { INITIALIZERS_CHECKSUM_KEY, initializersChecksum } from './checksum.js';

/** A file that is not a loadable Bijective flow model: says which file and why. */
export class OnnxModelError extends Error {
  override name = 'OnnxModelError';
}

/** What a Bijective `.onnx` file declares about itself. */
export interface BijectiveModelInfo {
  role: ModelRole;
  spec: FlowSpec;
  /** Event shape without the batch dimension. */
  event: number[];
  /** Bijective version that wrote the file. */
  version: string;
  metrics?: Record<string, unknown>;
  /** Every `metadata_props` entry. */
  metadata: Record<string, string>;
}

const EXPECTED: Record<ModelRole, { inputs: string[]; outputs: string[] }> = {
  log_prob: { inputs: [ONNX_NAMES.x], outputs: [ONNX_NAMES.logProb, ONNX_NAMES.z] },
  sample: { inputs: [ONNX_NAMES.z], outputs: [ONNX_NAMES.x] },
};

/** The shape `[N, ...]` an output of a Bijective model has for a batch of N (N stands as -1); undefined for a name it does not know. */
export function expectedOutputShape(name: string | null | undefined, event: readonly number[], n = -1): number[] | undefined {
  if (name === ONNX_NAMES.logProb || name === ONNX_NAMES.logDet) return [n];
  if (name === ONNX_NAMES.z || name === ONNX_NAMES.x) return [n, ...event];
  return undefined;
}

/** protobufjs gives int64 as a number or as a Long, depending on what is installed. */
function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

function describeValue(v: onnx.IValueInfoProto): string {
  const dims = v.type?.tensorType?.shape?.dim?.map((d) => (d.dimParam ? d.dimParam : String(toNumber(d.dimValue)))) ?? [];
  return `'${v.name}' [${dims.join(', ')}]`;
}

/**
 * Decodes `bytes` and checks it is a model exported by Bijective: a readable ModelProto
 * with a graph, Bijective's metadata, and the inputs/outputs of its role with the event
 * shape of its spec. `source` names the file in errors.
 */
export function inspectModel(bytes: Uint8Array, source = 'model'): BijectiveModelInfo {
  if (!(bytes instanceof Uint8Array)) throw new OnnxModelError(`${source}: expected the bytes of an .onnx file (Uint8Array), got ${typeof bytes}`);
  if (bytes.length === 0) throw new OnnxModelError(`${source}: the file is empty`);
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxModelError(`${source}: not a readable ONNX model, the file is corrupt or truncated (protobuf: ${(e as Error).message})`);
  }
  const graph = model.graph as onnx.GraphProto | null;
  if (!graph || toNumber(model.irVersion) <= 0 || model.opsetImport.length === 0 || graph.node.length === 0) {
    throw new OnnxModelError(`${source}: not a readable ONNX model (no ${!graph ? 'graph' : toNumber(model.irVersion) <= 0 ? 'IR version' : model.opsetImport.length === 0 ? 'opset import' : 'nodes'}); the file is corrupt or truncated`);
  }
  const metadata: Record<string, string> = {};
  for (const p of model.metadataProps) if (p.key) metadata[p.key] = p.value ?? '';
  const inputs = graph.input.map(describeValue).join(', ');
  const outputs = graph.output.map(describeValue).join(', ');
  const role = metadata[METADATA_KEYS.role];
  const specJson = metadata[METADATA_KEYS.spec];
  if ((role !== 'log_prob' && role !== 'sample') || specJson === undefined) {
    throw new OnnxModelError(
      `${source}: not a Bijective flow model: metadata_props lacks '${METADATA_KEYS.role}' ('log_prob' or 'sample') and '${METADATA_KEYS.spec}'. ` +
        `It has inputs ${inputs || 'none'} and outputs ${outputs || 'none'}; a Bijective log_prob.onnx has input 'x' [N, ...event] and outputs 'log_prob', 'z'; a sample.onnx input 'z' and output 'x'.`,
    );
  }
  let spec: FlowSpec;
  try {
    spec = JSON.parse(specJson) as FlowSpec;
  } catch (e) {
    throw new OnnxModelError(`${source}: metadata '${METADATA_KEYS.spec}' is not valid JSON (${(e as Error).message})`);
  }
  const event = spec.event;
  if (!Array.isArray(event) || !event.every((d) => Number.isInteger(d) && d > 0)) {
    throw new OnnxModelError(`${source}: metadata '${METADATA_KEYS.spec}' has no valid event shape`);
  }
  // A conditional flow's models take a second input, the context.
  const want = Array.isArray(spec.context) ? { ...EXPECTED[role], inputs: [...EXPECTED[role].inputs, ONNX_NAMES.context] } : EXPECTED[role];
  const inputNames = graph.input.map((v) => v.name);
  const outputNames = new Set(graph.output.map((v) => v.name));
  if (inputNames.length !== want.inputs.length || want.inputs.some((n, i) => inputNames[i] !== n) || want.outputs.some((n) => !outputNames.has(n))) {
    throw new OnnxModelError(
      `${source}: not a Bijective ${role} model: inputs ${inputs || 'none'} and outputs ${outputs || 'none'}, expected input '${want.inputs.join("', '")}' and outputs '${want.outputs.join("', '")}'`,
    );
  }
  const input = graph.input[0]!;
  const tensorType = input.type?.tensorType;
  const dims = tensorType?.shape?.dim ?? [];
  const shapeOk =
    tensorType?.elemType === onnx.TensorProto.DataType.FLOAT &&
    dims.length === event.length + 1 &&
    !!dims[0]!.dimParam &&
    event.every((d, i) => toNumber(dims[i + 1]!.dimValue) === d);
  if (!shapeOk) {
    throw new OnnxModelError(`${source}: input ${describeValue(input)} does not match the spec's event: expected float32 [N, ${event.join(', ')}] (${formatShape(['N', ...event])})`);
  }
  // Each output's declared shape (where the file declares one) must be that of the event:
  // log_prob and log_det [N], z and x [N, ...event]; a fixed dimension that differs is refused.
  for (const out of graph.output) {
    const want = expectedOutputShape(out.name, event);
    const declared = out.type?.tensorType?.shape?.dim;
    if (!want || !declared) continue;
    const ok = declared.length === want.length && declared.every((d, i) => i === 0 || d.dimParam || toNumber(d.dimValue) === want[i]);
    if (!ok) throw new OnnxModelError(`${source}: output ${describeValue(out)} does not match the spec's event: expected [${['N', ...want.slice(1)].join(', ')}]`);
  }
  const checksum = metadata[INITIALIZERS_CHECKSUM_KEY];
  if (checksum !== undefined) {
    const actual = initializersChecksum(graph.initializer);
    if (actual !== checksum) {
      throw new OnnxModelError(`${source}: the weights are corrupt: the initializers' CRC-32 is ${actual}, the file's metadata '${INITIALIZERS_CHECKSUM_KEY}' records ${checksum}`);
    }
  }
  const info: BijectiveModelInfo = { role, spec, event: [...event], version: metadata[METADATA_KEYS.version] ?? 'unknown', metadata };
  const metrics = metadata[METADATA_KEYS.metrics];
  if (metrics !== undefined) {
    try {
      info.metrics = JSON.parse(metrics) as Record<string, unknown>;
    } catch {
      // Metrics are informative only; an unreadable entry does not stop the model.
    }
  }
  return info;
}
