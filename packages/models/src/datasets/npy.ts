import { parse } from 'npyjs';
import { DataFileError } from './errors.js';

/**
 * NumPy `.npy` arrays (format versions 1–3), read by npyjs (aplbrain). Accepted: little-endian
 * float32 (`<f4`), float64 (`<f8`) and uint8 (`|u1`) in C (row-major) order, of rank ≥ 1, whose
 * data fills the shape exactly; anything else — a Fortran-order array, another dtype, a
 * big-endian file, a truncated or padded file, a NaN or infinite float — is a
 * {@link DataFileError} naming the file and what was found.
 */
export interface NpyArray {
  dtype: 'float32' | 'float64' | 'uint8';
  shape: number[];
  /** Floats widened to float64; uint8 as is. */
  data: Float64Array | Uint8Array;
}

const SIZES = { f4: 4, f8: 8, u1: 1 } as const;
const NAMES = { f4: 'float32', f8: 'float64', u1: 'uint8' } as const;

export function readNpy(bytes: Uint8Array, file: string): NpyArray {
  // A private, aligned copy: Node's file buffers may be views into a shared pool.
  const buf = bytes.slice().buffer;
  let arr: ReturnType<typeof parse>;
  try {
    arr = parse(buf);
  } catch (e) {
    const msg = (e as Error).message;
    if (/Unsupported dtype/.test(msg)) throw new DataFileError(`${file}: ${msg.replace('Unsupported dtype: ', 'dtype ')} is not supported; expected little-endian float32 ('<f4'), float64 ('<f8') or uint8 ('|u1')`);
    if (/Not an .npy file/.test(msg)) throw new DataFileError(`${file}: not a NumPy .npy file (no \\x93NUMPY magic)`);
    if (/multiple of/.test(msg)) throw new DataFileError(`${file}: the data after the header is not a whole number of elements (truncated?)`);
    throw new DataFileError(`${file}: not a readable .npy file (${msg})`);
  }
  const code = arr.dtype as string;
  if (!(code in SIZES)) throw new DataFileError(`${file}: dtype '${code}' is not supported; expected float32 ('<f4'), float64 ('<f8') or uint8 ('|u1')`);
  const dtype = code as keyof typeof SIZES;
  if (arr.fortranOrder) throw new DataFileError(`${file}: the array is in Fortran (column-major) order; save it in C order (np.ascontiguousarray) and try again`);
  if (arr.shape.length === 0 || !arr.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new DataFileError(`${file}: shape (${arr.shape.join(', ')}) is not an array of rank >= 1`);
  }
  const count = arr.shape.reduce((a, b) => a * b, 1);
  const expectedBytes = count * SIZES[dtype];
  const dataBytes = arr.data.byteLength;
  if (dataBytes !== expectedBytes) {
    throw new DataFileError(`${file}: shape (${arr.shape.join(', ')}) of ${NAMES[dtype]} needs ${expectedBytes} bytes of data, the file has ${dataBytes}${dataBytes < expectedBytes ? ' (truncated?)' : ''}`);
  }
  if (dtype === 'u1') return { dtype: 'uint8', shape: arr.shape, data: new Uint8Array(arr.data.buffer, arr.data.byteOffset, count).slice() };
  const data = Float64Array.from(arr.data as Float32Array | Float64Array);
  const row = arr.shape.slice(1).reduce((a, b) => a * b, 1);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new DataFileError(`${file}: value ${data[i]} at row ${Math.floor(i / row)}, column ${i % row}; every value must be finite`);
  }
  return { dtype: NAMES[dtype], shape: arr.shape, data };
}
