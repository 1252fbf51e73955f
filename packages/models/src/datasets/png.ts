import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { DataFileError } from './errors.js';

/**
 * A folder of PNG images as 8-bit `[N, C, H, W]` bytes, decoded by pngjs (16-bit images are
 * rescaled to 8 bits there). Grayscale (colour types 0, 4) gives C = 1, colour (2, 3, 6)
 * C = 3; alpha is dropped. Every image must have one size and one kind (all grayscale or all
 * colour); a mixed folder, an unreadable file or an empty folder is a {@link DataFileError}
 * naming the files.
 *
 * Layout: the `*.png` files directly in the folder (sorted by name), or, when it holds none,
 * one sub-folder per class (`dir/<class>/*.png`, classes sorted by name): then each image also
 * gets its class index, for class-conditional flows.
 */
export interface PngFolder {
  /** `[C, H, W]`. */
  shape: [number, number, number];
  count: number;
  data: Uint8Array;
  files: string[];
  /** Class names (sub-folders), when the folder is laid out by class. */
  classes?: string[];
  /** Class index of each image, with `classes`. */
  labels?: Int32Array;
}

const pngsIn = async (dir: string) => (await readdir(dir)).filter((f) => /\.png$/i.test(f)).sort();

/** Decodes one PNG to `[C, H, W]` bytes. */
export function decodePng(bytes: Buffer, file: string): { shape: [number, number, number]; data: Uint8Array } {
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    png = PNG.sync.read(bytes);
  } catch (e) {
    throw new DataFileError(`${file}: not a readable PNG (${(e as Error).message})`);
  }
  const { width, height } = png;
  const gray = png.colorType === 0 || png.colorType === 4;
  const c = gray ? 1 : 3;
  const plane = width * height;
  const data = new Uint8Array(c * plane);
  for (let p = 0; p < plane; p++) for (let ch = 0; ch < c; ch++) data[ch * plane + p] = png.data[4 * p + ch]!;
  return { shape: [c, height, width], data };
}

export async function readPngFolder(dir: string): Promise<PngFolder> {
  if (!(await stat(dir)).isDirectory()) throw new DataFileError(`${dir}: not a folder`);
  let files = (await pngsIn(dir)).map((f) => join(dir, f));
  let classes: string[] | undefined;
  let labels: number[] | undefined;
  if (files.length === 0) {
    const subs: string[] = [];
    for (const e of (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
      if ((await pngsIn(join(dir, e))).length) subs.push(e);
    }
    if (subs.length === 0) throw new DataFileError(`${dir}: no .png files, neither in the folder nor in class sub-folders`);
    classes = subs;
    labels = [];
    files = [];
    for (const [k, sub] of subs.entries()) {
      for (const f of await pngsIn(join(dir, sub))) {
        files.push(join(dir, sub, f));
        labels.push(k);
      }
    }
  }
  let first: { shape: [number, number, number]; file: string } | undefined;
  const chunks: Uint8Array[] = [];
  for (const file of files) {
    const img = decodePng(await readFile(file), file);
    if (!first) first = { shape: img.shape, file };
    else if (img.shape.join() !== first.shape.join()) {
      const what = (s: number[]) => `${s[2]}×${s[1]} ${s[0] === 1 ? 'grayscale' : 'colour'}`;
      throw new DataFileError(`${file} is ${what(img.shape)}, ${first.file} is ${what(first.shape)}: every image must have one size and one kind (grayscale or colour)`);
    }
    chunks.push(img.data);
  }
  const shape = first!.shape;
  const size = shape[0] * shape[1] * shape[2];
  const data = new Uint8Array(files.length * size);
  chunks.forEach((c, i) => data.set(c, i * size));
  return { shape, count: files.length, data, files, ...(classes ? { classes, labels: Int32Array.from(labels!) } : {}) };
}
