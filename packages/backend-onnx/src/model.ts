import { onnx } from './proto.js';
import { INITIALIZERS_CHECKSUM_KEY, initializersChecksum } from './checksum.js';

/**
 * The ONNX versions every exported model declares.
 *
 * Opset 17 (ONNX 1.12, 2022) with IR version 8: every op the lowering emits exists there
 * in the form used (ReduceSum with `axes` as an input, ReduceMean/ReduceMax with `axes`
 * as an attribute, Loop 16, CumSum 14, GreaterOrEqual 16), and ONNX Runtime has run
 * opset 17 / IR 8 models since 1.12, so the files load on every onnxruntime-node and
 * onnxruntime-web release users still have (1.14 onward, current 1.30 included), on
 * Triton's onnxruntime backend, and in other ONNX engines that implement opset 17.
 */
export const OPSET_VERSION = 17;
export const IR_VERSION = 8;
export const PRODUCER_NAME = 'bijective';

export const DataType = onnx.TensorProto.DataType;
export type DataTypeCode = onnx.TensorProto.DataType;
export const AttrType = onnx.AttributeProto.AttributeType;

export type AttrValue = number | number[] | string | onnx.IGraphProto | { floats: number[] } | { float: number };

/** An attribute from a plain value: integers and integer lists become INT(S), strings STRING, graphs GRAPH, `{ float }` FLOAT. */
export function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, type: AttrType.INT, i: value } : { name, type: AttrType.FLOAT, f: value };
  }
  if (typeof value === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttrType.INTS, ints: value };
  if ('floats' in value) return { name, type: AttrType.FLOATS, floats: value.floats };
  // A float whose value is an integer (a plain number would become an INT).
  if ('float' in value) return { name, type: AttrType.FLOAT, f: value.float };
  return { name, type: AttrType.GRAPH, g: value };
}

function rawBytes(view: ArrayBufferView): Uint8Array {
  // ONNX raw_data is little-endian; typed arrays are in platform order, little-endian on
  // every platform ONNX Runtime ships for.
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): onnx.ITensorProto {
  const data = values instanceof Float32Array ? values : Float32Array.from(values);
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: rawBytes(data) };
}

export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): onnx.ITensorProto {
  return { name, dims: [...dims], dataType: DataType.INT64, rawData: rawBytes(BigInt64Array.from(values, (v) => BigInt(v))) };
}

export function boolTensor(name: string, dims: readonly number[], values: ArrayLike<number>): onnx.ITensorProto {
  return { name, dims: [...dims], dataType: DataType.BOOL, rawData: Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0)) };
}

/** A tensor-typed value description; `'N'` (or any string) becomes a symbolic dimension. */
export function valueInfo(name: string, elemType: DataTypeCode, shape: readonly (number | string)[] | undefined): onnx.IValueInfoProto {
  const tensorType: onnx.TypeProto.ITensor = { elemType };
  if (shape) tensorType.shape = { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType } };
}

/**
 * A graph under construction: nodes, initializers, inputs and outputs, with value names
 * unique across the whole model (ONNX requires subgraph names not to clash with the
 * enclosing graph's), handed out by a shared {@link NameScope}.
 */
export class OnnxGraph {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly inputs: onnx.IValueInfoProto[] = [];
  readonly outputs: onnx.IValueInfoProto[] = [];

  constructor(
    readonly names: NameScope,
    readonly name: string,
  ) {}

  /** Appends a node and returns its output names (`outputs` fresh names unless given). */
  node(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, outputs: number | string[] = 1): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.names.fresh(opType)) : outputs;
    this.nodes.push({
      opType,
      input: [...inputs],
      output: outs,
      name: this.names.fresh(`${opType}_node`),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** One-output node. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(opType, inputs, attrs)[0]!;
  }

  initializer(t: onnx.ITensorProto): string {
    this.initializers.push(t);
    return t.name!;
  }

  toProto(): onnx.IGraphProto {
    return { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs };
  }
}

/** Hands out value names unique within a model; names already taken (inputs, parameters) are reserved. */
export class NameScope {
  private readonly taken = new Set<string>();
  private counter = 0;

  reserve(name: string): string {
    if (this.taken.has(name)) throw new Error(`ONNX export: the value name '${name}' is used twice`);
    this.taken.add(name);
    return name;
  }

  has(name: string): boolean {
    return this.taken.has(name);
  }

  fresh(hint: string): string {
    let name: string;
    do name = `${hint}_${this.counter++}`;
    while (this.taken.has(name));
    this.taken.add(name);
    return name;
  }
}

export interface ModelOptions {
  producerVersion: string;
  docString?: string;
  metadata?: Record<string, string>;
}

/** Serialises a graph into a complete ModelProto (opset 17, IR 8). */
export function encodeModel(graph: onnx.IGraphProto, options: ModelOptions): Uint8Array {
  const model: onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    producerName: PRODUCER_NAME,
    producerVersion: options.producerVersion,
    docString: options.docString ?? '',
    graph,
    metadataProps: [...Object.entries(options.metadata ?? {}), [INITIALIZERS_CHECKSUM_KEY, initializersChecksum(graph.initializer ?? [])] as const].map(([key, value]) => ({ key, value })),
  };
  // A plain Uint8Array of its own (in Node protobufjs hands back a Buffer, possibly a slice of a shared pool).
  return new Uint8Array(onnx.ModelProto.encode(model).finish());
}
