import { onnx } from './proto.js';

/** The `metadata_props` key of the initializers' checksum. */
export const INITIALIZERS_CHECKSUM_KEY = 'bijective.initializers_crc32';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, the zlib/PNG one) of `bytes`, continuing from `crc`. It catches every flipped byte. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * The checksum of a graph's initializers (weights, folded constants, shapes), as 8 hex digits:
 * CRC-32 over each initializer's serialised TensorProto, in order. Written into
 * `metadata_props` at export and recomputed when a runtime opens the file, so a flipped byte
 * in the weights is refused instead of computing a wrong density.
 */
export function initializersChecksum(initializers: readonly onnx.ITensorProto[]): string {
  let crc = 0;
  for (const t of initializers) crc = crc32(onnx.TensorProto.encode(t).finish(), crc);
  return crc.toString(16).padStart(8, '0');
}
