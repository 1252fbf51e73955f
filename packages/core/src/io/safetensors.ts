import { formatShape, sizeOf } from '../tensor.js';

/**
 * The safetensors layout (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian header length, a JSON header `{name: {dtype, shape, data_offsets}, __metadata__}`,
 * then the raw little-endian tensor bytes. Bijective stores float32 (`F32`); `F64` is read too.
 */
export interface NamedTensor {
  data: Float32Array;
  shape: number[];
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

const ALIGN = 8;

export function encodeSafetensors(tensors: Record<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    const t = tensors[name]!;
    if (t.data.length !== sizeOf(t.shape)) throw new CheckpointError(`tensor '${name}': ${t.data.length} values for shape ${formatShape(t.shape)}`);
    const bytes = t.data.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((ALIGN - ((json.length + 8) % ALIGN)) % ALIGN);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name]!;
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i]!, true);
  }
  return out;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Parses and validates a safetensors file; a truncated or inconsistent file is refused with what is wrong. */
export function decodeSafetensors(bytes: Uint8Array, what = 'safetensors file'): { tensors: Record<string, NamedTensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new CheckpointError(`${what}: ${bytes.length} bytes, too short for the 8-byte header length (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.length - 8) throw new CheckpointError(`${what}: header says ${headerLen} bytes of JSON but only ${bytes.length - 8} follow (truncated or not a safetensors file)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen))) as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${what}: header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new CheckpointError(`${what}: header is not a JSON object`);
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const tensors: Record<string, NamedTensor> = {};
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const spans: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = raw as HeaderEntry;
    const width = e.dtype === 'F32' ? 4 : e.dtype === 'F64' ? 8 : 0;
    if (!width) throw new CheckpointError(`${what}: tensor '${name}' has dtype ${JSON.stringify(e.dtype)}; expected F32 or F64`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new CheckpointError(`${what}: tensor '${name}' has a bad shape ${JSON.stringify(e.shape)}`);
    const [b, end] = e.data_offsets ?? [];
    if (!Number.isInteger(b) || !Number.isInteger(end) || b! < 0 || end! < b!) throw new CheckpointError(`${what}: tensor '${name}' has bad data_offsets ${JSON.stringify(e.data_offsets)}`);
    const n = sizeOf(e.shape);
    if (end! - b! !== n * width) throw new CheckpointError(`${what}: tensor '${name}' spans ${end! - b!} bytes; shape ${formatShape(e.shape)} of ${e.dtype} needs ${n * width}`);
    if (end! > dataLen) throw new CheckpointError(`${what}: tensor '${name}' ends at byte ${end} of a ${dataLen}-byte data section (truncated)`);
    spans.push([b!, end!, name]);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = width === 4 ? view.getFloat32(dataStart + b! + 4 * i, true) : view.getFloat64(dataStart + b! + 8 * i, true);
    tensors[name] = { data, shape: [...e.shape] };
  }
  spans.sort((p, q) => p[0] - q[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) throw new CheckpointError(`${what}: tensors '${spans[i - 1]![2]}' and '${spans[i]![2]}' overlap`);
  }
  return { tensors, metadata };
}
