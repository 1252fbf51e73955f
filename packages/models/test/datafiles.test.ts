import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { DataFileError } from '../src/datasets/errors.js';
import { loadDataFile, splitIndices } from '../src/datasets/files.js';
import { parseTable } from '../src/datasets/csv.js';
import { readNpy } from '../src/datasets/npy.js';
import { decodePng, readPngFolder } from '../src/datasets/png.js';

const dir = mkdtempSync(join(tmpdir(), 'bijective-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};

/** The DataFileError message `f` throws (fails the test otherwise). */
async function errorOf(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    if (e instanceof DataFileError) return e.message;
    throw e;
  }
  throw new Error('expected a DataFileError, nothing was thrown');
}

/** A `.npy` file (format 1.0): magic, header dict padded with spaces to a multiple of 64, data. */
function npy(descr: string, shape: number[], data: Uint8Array, fortran = false): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(data, 10 + header.length);
  return out;
}
const bytesOf = (a: Float32Array | Float64Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A PNG of `width × height` (colour type 0 grey or 2 RGB) whose pixel p of channel c is (p·7 + c·50) mod 256. */
function png(width: number, height: number, gray: boolean): Buffer {
  const img = new PNG({ width, height, colorType: gray ? 0 : 2, inputColorType: 6 });
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) img.data[4 * p + c] = gray ? (p * 7) % 256 : (p * 7 + c * 50) % 256;
    img.data[4 * p + 3] = 255;
  }
  return PNG.sync.write(img, { colorType: gray ? 0 : 2, inputColorType: 6 });
}

describe('CSV/TSV tables (csv-parse)', () => {
  it('detects a header, keeps the chosen columns by name or index, and reads TSV', () => {
    const t = parseTable('a,b,c\n1,2,3\n4,5.5,-6e-1\n', 'x.csv');
    expect(t.x.columns).toEqual(['a', 'b', 'c']);
    expect([...t.x.values]).toEqual([1, 2, 3, 4, 5.5, -0.6]);
    expect(t.x.lines).toEqual([2, 3]);
    const picked = parseTable('a,b,c\n1,2,3\n4,5,6\n', 'x.csv', { columns: ['c', '0'] });
    expect(picked.x.columns).toEqual(['c', 'a']);
    expect([...picked.x.values]).toEqual([3, 1, 6, 4]);
    const tsv = parseTable('x\ty\n1\t2\n', 'x.tsv');
    expect([...tsv.x.values]).toEqual([1, 2]);
  });

  it('treats an all-numeric first row as data, naming columns by index', () => {
    const t = parseTable('1,2\n3,4\n', 'x.csv');
    expect(t.x.columns).toEqual(['0', '1']);
    expect(t.x.rows).toBe(2);
  });

  it('splits off context columns', () => {
    const t = parseTable('x,y,c\n1,2,0\n3,4,1\n', 'x.csv', { contextColumns: ['c'] });
    expect(t.x.columns).toEqual(['x', 'y']);
    expect([...t.context!.values]).toEqual([0, 1]);
    expect([...t.x.values]).toEqual([1, 2, 3, 4]);
  });

  it.each([
    ['a,b\n1,2\n3\n', /x\.csv: line 3 has 1 fields, expected 2 \(as in the header\)/],
    ['a,b\n1,2\n3,4,5\n', /line 3 has 3 fields, expected 2/],
    ['a,b\n1,2\n3,\n', /line 3, column 'b': missing value; expected a number/],
    ['a,b\n1,2\n3,abc\n', /line 3, column 'b': 'abc' is not a finite number/],
    ['a,b\n1,NaN\n', /line 2, column 'b': 'NaN' is not a finite number/],
    ['a,b\n1,Infinity\n', /line 2, column 'b': 'Infinity' is not a finite number/],
    ['a,b\n', /a header \(a, b\) but no data rows/],
    ['', /x\.csv: no rows/],
    ['a,"b\n1,2\n', /not readable as CSV/],
  ])('rejects %j', async (text, message) => {
    expect(await errorOf(() => parseTable(text, 'x.csv'))).toMatch(message);
  });

  it('names the line after blank and comment lines, and rejects unknown or clashing columns', async () => {
    expect(await errorOf(() => parseTable('a,b\n# note\n\n1,2\n3,x\n', 'x.csv'))).toMatch(/line 5, column 'b'/);
    expect(await errorOf(() => parseTable('a,b\n1,2\n', 'x.csv', { columns: ['z'] }))).toMatch(/--columns names column 'z', which the file does not have; its columns are 'a', 'b' \(or 0\.\.1\)/);
    expect(await errorOf(() => parseTable('a,b\n1,2\n', 'x.csv', { columns: ['a'], contextColumns: ['a'] }))).toMatch(/column 'a' is in both/);
  });
});

describe('.npy arrays (npyjs)', () => {
  const f4 = Float32Array.from([1, 2, 3, 4, 5, 6]);
  it('reads float32, float64 and uint8 in C order', () => {
    const a = readNpy(npy('<f4', [2, 3], bytesOf(f4)), 'a.npy');
    expect(a).toMatchObject({ dtype: 'float32', shape: [2, 3] });
    expect([...a.data]).toEqual([1, 2, 3, 4, 5, 6]);
    const b = readNpy(npy('<f8', [3, 1], bytesOf(Float64Array.from([0.1, 0.2, 0.3]))), 'b.npy');
    expect([...b.data]).toEqual([0.1, 0.2, 0.3]);
    const c = readNpy(npy('|u1', [2, 2, 2], Uint8Array.from([0, 1, 2, 3, 252, 253, 254, 255])), 'c.npy');
    expect(c.dtype).toBe('uint8');
    expect([...c.data]).toEqual([0, 1, 2, 3, 252, 253, 254, 255]);
  });

  it.each([
    ['Fortran order', () => npy('<f4', [2, 3], bytesOf(f4), true), /Fortran \(column-major\) order; save it in C order/],
    ['int32', () => npy('<i4', [2, 3], bytesOf(Int32Array.from([1, 2, 3, 4, 5, 6]) as unknown as Float32Array)), /dtype 'i4' is not supported; expected float32/],
    ['big-endian', () => npy('>f4', [2, 3], bytesOf(f4)), /dtype >f4 is not supported; expected little-endian/],
    ['truncated', () => npy('<f4', [2, 4], bytesOf(f4)), /shape \(2, 4\) of float32 needs 32 bytes of data, the file has 24 \(truncated\?\)/],
    ['a partial element', () => npy('<f4', [2, 3], bytesOf(f4).subarray(0, 22)), /not a whole number of elements/],
    ['NaN', () => npy('<f8', [2, 2], bytesOf(Float64Array.from([1, 2, NaN, 4]))), /value NaN at row 1, column 0; every value must be finite/],
    ['not .npy', () => Uint8Array.from(Buffer.from('a,b\n1,2\n')), /not a NumPy \.npy file/],
  ])('rejects %s', async (_, make, message) => {
    expect(await errorOf(() => readNpy(make(), 'bad.npy'))).toMatch(message);
  });

  it('loads [N, D] as vectors and uint8 [N, H, W] as images; rejects float images', async () => {
    const v = await loadDataFile({ file: file('v.npy', npy('<f4', [10, 2], bytesOf(Float32Array.from({ length: 20 }, (_, i) => i)))), testFraction: 0.2 });
    expect(v).toMatchObject({ kind: 'vector', dim: 2, nTrain: 8, nTest: 2, columns: ['0', '1'] });
    const im = await loadDataFile({ file: file('im.npy', npy('|u1', [5, 2, 3], new Uint8Array(30).fill(7))), testFraction: 0.2 });
    expect(im).toMatchObject({ kind: 'image', shape: [1, 2, 3] });
    const bad = file('f.npy', npy('<f4', [2, 1, 3], bytesOf(f4)));
    expect(await errorOf(() => loadDataFile({ file: bad }))).toMatch(/shape \(2, 1, 3\) of float32; expected vectors \[N, D\] \(any dtype\), or 8-bit images/);
  });
});

describe('PNG folders (pngjs)', () => {
  it('decodes grayscale to [1, H, W] and RGB to [3, H, W] (channel planes)', () => {
    const g = decodePng(png(3, 2, true), 'g.png');
    expect(g.shape).toEqual([1, 2, 3]);
    expect([...g.data]).toEqual([0, 7, 14, 21, 28, 35]);
    const c = decodePng(png(2, 1, false), 'c.png');
    expect(c.shape).toEqual([3, 1, 2]);
    expect([...c.data]).toEqual([0, 7, 50, 57, 100, 107]);
  });

  it('reads a flat folder in name order and a folder of class sub-folders with labels', async () => {
    const flat = join(dir, 'flat');
    mkdirSync(flat);
    for (const n of ['b', 'a', 'c']) writeFileSync(join(flat, `${n}.png`), png(4, 4, true));
    writeFileSync(join(flat, 'notes.txt'), 'ignored');
    const f = await readPngFolder(flat);
    expect(f.files.map((p) => p.slice(flat.length + 1))).toEqual(['a.png', 'b.png', 'c.png']);
    expect(f).toMatchObject({ shape: [1, 4, 4], count: 3 });
    const byClass = join(dir, 'classes');
    for (const [cls, k] of [['shirt', 2], ['boot', 1]] as const) {
      mkdirSync(join(byClass, cls), { recursive: true });
      for (let i = 0; i < k; i++) writeFileSync(join(byClass, cls, `${i}.png`), png(2, 2, false));
    }
    const c = await readPngFolder(byClass);
    expect(c.classes).toEqual(['boot', 'shirt']);
    expect([...c.labels!]).toEqual([0, 1, 1]);
    expect(c.shape).toEqual([3, 2, 2]);
  });

  it('rejects mixed sizes, mixed kinds, an unreadable file and an empty folder', async () => {
    const mk = (name: string, files: Record<string, Buffer>) => {
      const d = join(dir, name);
      mkdirSync(d);
      for (const [f, b] of Object.entries(files)) writeFileSync(join(d, f), b);
      return d;
    };
    expect(await errorOf(() => readPngFolder(mk('sizes', { 'a.png': png(4, 4, true), 'b.png': png(4, 5, true) })))).toMatch(
      /b\.png is 4×5 grayscale, .*a\.png is 4×4 grayscale: every image must have one size and one kind/,
    );
    expect(await errorOf(() => readPngFolder(mk('kinds', { 'a.png': png(4, 4, true), 'b.png': png(4, 4, false) })))).toMatch(/b\.png is 4×4 colour, .*a\.png is 4×4 grayscale/);
    expect(await errorOf(() => readPngFolder(mk('corrupt', { 'a.png': Buffer.from('not a png') })))).toMatch(/a\.png: not a readable PNG/);
    expect(await errorOf(() => readPngFolder(mk('empty', {})))).toMatch(/no \.png files, neither in the folder nor in class sub-folders/);
  });
});

describe('loadDataFile: the seeded split and --test', () => {
  const rows = Array.from({ length: 50 }, (_, i) => `${i},${2 * i}`).join('\n');
  const csv = file('rows.csv', `x,y\n${rows}\n`);

  it('splits by a seeded permutation: disjoint, complete, reproducible, in file order', async () => {
    const a = await loadDataFile({ file: csv, testFraction: 0.2, seed: 3 });
    const b = await loadDataFile({ file: csv, testFraction: 0.2, seed: 3 });
    const c = await loadDataFile({ file: csv, testFraction: 0.2, seed: 4 });
    if (a.kind !== 'vector' || b.kind !== 'vector' || c.kind !== 'vector') throw new Error('expected vectors');
    expect([a.nTrain, a.nTest]).toEqual([40, 10]);
    const xs = (v: Float64Array) => [...v].filter((_, i) => i % 2 === 0);
    const all = [...xs(a.train), ...xs(a.test)].sort((p, q) => p - q);
    expect(all).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...b.test]).toEqual([...a.test]);
    expect([...c.test]).not.toEqual([...a.test]);
    expect(xs(a.test)).toEqual([...xs(a.test)].sort((p, q) => p - q));
    expect(() => splitIndices(1, 0.5, 1)).toThrow(/1 rows cannot be split/);
  });

  it('takes a separate test file with the same columns', async () => {
    const t = await loadDataFile({ file: csv, test: file('t.csv', 'x,y\n100,200\n') });
    expect(t).toMatchObject({ nTrain: 50, nTest: 1 });
    expect(await errorOf(() => loadDataFile({ file: csv, test: file('t2.csv', 'x,z\n1,2\n') }))).toMatch(/--test .*t2\.csv holds vectors of 2 \(columns x, z\), --data .*rows\.csv holds vectors of 2 \(columns x, y\); they must match/);
    expect(await errorOf(() => loadDataFile({ file: join(dir, 'missing.csv') }))).toMatch(/missing\.csv: no such file or folder/);
    expect(await errorOf(() => loadDataFile({ file: file('x.json', '[]') }))).toMatch(/unknown kind of data file; expected \.csv, \.tsv/);
  });
});
