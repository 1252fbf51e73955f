import { readFile } from 'node:fs/promises';
import { constants, gunzipSync } from 'node:zlib';

/**
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a 4-byte
 * magic number `0x00 0x00 <type> <rank>`, then `rank` big-endian uint32 dimension sizes, then
 * the values row-major. Only type `0x08` (unsigned byte, what image and label files use) is
 * read. Files may be gzip-compressed (detected by the gzip magic `1f 8b`).
 */
export class IdxError extends Error {
  override name = 'IdxError';
}

export interface IdxArray {
  /** Dimension sizes, e.g. `[60000, 28, 28]`. */
  dims: number[];
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = { 0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };

/** Parses IDX bytes (gzip or plain); `source` names the file in errors. */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  let buf = bytes;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipIdx(buf, source);
  if (buf.length < 4) throw new IdxError(`${source}: ${buf.length} bytes, too short for an IDX header (4-byte magic number)`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new IdxError(`${source}: bad IDX magic number 0x${hex(buf.subarray(0, 4))}; expected 0x0000 followed by the type and rank bytes`);
  }
  const type = buf[2]!;
  const rank = buf[3]!;
  if (type !== 0x08) {
    const what = TYPE_NAMES[type] ? `type ${TYPE_NAMES[type]} (0x${type.toString(16).padStart(2, '0')})` : `unknown type byte 0x${type.toString(16).padStart(2, '0')}`;
    throw new IdxError(`${source}: IDX ${what}; only unsigned byte (0x08) data is supported`);
  }
  if (rank < 1) throw new IdxError(`${source}: IDX rank is 0; expected at least one dimension`);
  const headerBytes = 4 + 4 * rank;
  if (buf.length < headerBytes) throw new IdxError(`${source}: truncated header: rank ${rank} needs ${headerBytes} header bytes, the file has ${buf.length}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const available = buf.length - headerBytes;
  if (available !== count) {
    throw new IdxError(`${source}: header says dims [${dims.join(', ')}] = ${count} values, the file holds ${available} after the header (${available < count ? 'truncated' : 'trailing bytes'})`);
  }
  return { dims, data: buf.slice(headerBytes) };
}

/** The largest IDX file read (values after the header): 2 GiB, well above MNIST's 47 MB. */
export const MAX_IDX_BYTES = 2 ** 31;

/**
 * Gunzips an IDX file with an output limit derived from its own header: the header is
 * decompressed first (from a prefix of the stream), then the whole file with at most
 * `header + Π dims` bytes of output, so a gzip bomb (a few MB that inflate to GBs) is refused
 * after inflating no more than the header promises.
 */
function gunzipIdx(gz: Uint8Array, source: string): Uint8Array {
  const corrupt = (e: unknown) => new IdxError(`${source}: gzip data is corrupt (${(e as Error).message})`);
  let head: Uint8Array = new Uint8Array(0);
  for (let prefix = 64; ; prefix *= 4) {
    const part = gz.subarray(0, prefix);
    try {
      // A prefix inflates to what it holds (Z_SYNC_FLUSH: no error for the missing end); at most ~1032× its size.
      head = gunzipSync(part, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: 1032 * part.length + 1024 });
    } catch (e) {
      throw corrupt(e);
    }
    if (head.length >= 4 + 4 * (head[3] ?? 1) || part.length === gz.length) break;
  }
  // The whole stream inflated and still no header: let a full inflate report a truncated or corrupt stream.
  if (head.length < 4) {
    try {
      return gunzipSync(gz, { maxOutputLength: 1024 });
    } catch (e) {
      throw corrupt(e);
    }
  }
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0 || head.length < 4 + 4 * head[3]!) {
    // Not an IDX header: inflate a little for parseIdx's own message.
    return head.subarray(0, Math.min(head.length, 4 + 4 * (head[3] ?? 0)));
  }
  const rank = head[3]!;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (count > MAX_IDX_BYTES) throw new IdxError(`${source}: header says dims [${dims.join(', ')}] = ${count} values; the limit is ${MAX_IDX_BYTES} (2 GiB)`);
  const limit = 4 + 4 * rank + count;
  try {
    return gunzipSync(gz, { maxOutputLength: limit });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new IdxError(`${source}: the gzip data inflates to more than the ${limit} bytes its IDX header (dims [${dims.join(', ')}]) declares; refused (trailing bytes or a gzip bomb)`);
    }
    throw corrupt(e);
  }
}

/** Reads and parses an IDX file (`.gz` or plain). */
export async function readIdx(path: string): Promise<IdxArray> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new IdxError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseIdx(bytes, path);
}

function hex(b: Uint8Array): string {
  return Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
}
