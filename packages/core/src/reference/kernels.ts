import { sizeOf, stridesOf } from '../tensor.js';

/** A concrete float64 tensor of the reference interpreter (bools are 0/1). */
export interface RefTensor {
  readonly data: Float64Array;
  readonly shape: readonly number[];
}

export function refTensor(data: ArrayLike<number>, shape: readonly number[]): RefTensor {
  const d = data instanceof Float64Array ? data : Float64Array.from(data);
  if (d.length !== sizeOf(shape)) throw new Error(`tensor of ${d.length} values cannot have shape [${shape.join(', ')}]`);
  return { data: d, shape: [...shape] };
}

export function map(x: RefTensor, f: (v: number) => number): RefTensor {
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(x.data[i]!);
  return { data: out, shape: x.shape };
}

/** Strides of `inShape` seen from `outShape` under broadcasting (0 where broadcast). */
function broadcastStrides(outShape: readonly number[], inShape: readonly number[]): number[] {
  const s = stridesOf(inShape);
  const off = outShape.length - inShape.length;
  return outShape.map((_, i) => (i < off || inShape[i - off] === 1 ? 0 : s[i - off]!));
}

export function broadcastConcrete(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = i < r - a.length ? 1 : a[i - (r - a.length)]!;
    const db = i < r - b.length ? 1 : b[i - (r - b.length)]!;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`cannot broadcast [${a.join(', ')}] with [${b.join(', ')}]`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Elementwise n-ary op with NumPy broadcasting. */
export function zipWith(xs: readonly RefTensor[], f: (...v: number[]) => number): RefTensor {
  const shape = xs.reduce<number[]>((s, x) => broadcastConcrete(s, x.shape), []);
  const n = sizeOf(shape);
  const out = new Float64Array(n);
  const same = xs.every((x) => x.data.length === n);
  if (same) {
    const args = new Array<number>(xs.length);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < xs.length; k++) args[k] = xs[k]!.data[i]!;
      out[i] = f(...args);
    }
    return { data: out, shape };
  }
  const strides = xs.map((x) => broadcastStrides(shape, x.shape));
  const r = shape.length;
  const idx = new Array<number>(r).fill(0);
  const offs = new Array<number>(xs.length).fill(0);
  const args = new Array<number>(xs.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < xs.length; k++) args[k] = xs[k]!.data[offs[k]!]!;
    out[i] = f(...args);
    for (let d = r - 1; d >= 0; d--) {
      idx[d]!++;
      for (let k = 0; k < xs.length; k++) offs[k]! += strides[k]![d]!;
      if (idx[d]! < shape[d]!) break;
      for (let k = 0; k < xs.length; k++) offs[k]! -= strides[k]![d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return { data: out, shape };
}

export function reduce(x: RefTensor, axes: readonly number[], keepDims: boolean, kind: 'sum' | 'mean' | 'max'): RefTensor {
  const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Float64Array(sizeOf(keptShape)).fill(kind === 'max' ? -Infinity : 0);
  const outStrides = broadcastStrides(x.shape, keptShape);
  const r = x.shape.length;
  const idx = new Array<number>(r).fill(0);
  let o = 0;
  for (let i = 0; i < x.data.length; i++) {
    const v = x.data[i]!;
    if (kind === 'max') {
      if (v > out[o]! || Number.isNaN(v)) out[o] = v;
    } else out[o]! += v;
    for (let d = r - 1; d >= 0; d--) {
      idx[d]!++;
      o += outStrides[d]!;
      if (idx[d]! < x.shape[d]!) break;
      o -= outStrides[d]! * x.shape[d]!;
      idx[d] = 0;
    }
  }
  if (kind === 'mean') {
    const count = x.data.length / Math.max(1, out.length);
    for (let i = 0; i < out.length; i++) out[i]! /= count;
  }
  const shape = keepDims ? keptShape : x.shape.filter((_, i) => !axes.includes(i));
  return { data: out, shape };
}

export function matmul(a: RefTensor, b: RefTensor): RefTensor {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const p = b.shape[b.shape.length - 1]!;
  const batch = broadcastConcrete(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const nb = sizeOf(batch);
  const out = new Float64Array(nb * m * p);
  const aStr = broadcastStrides(batch, a.shape.slice(0, -2));
  const bStr = broadcastStrides(batch, b.shape.slice(0, -2));
  const bIdx = stridesOf(batch);
  for (let bi = 0; bi < nb; bi++) {
    let ao = 0;
    let bo = 0;
    let rem = bi;
    for (let d = 0; d < batch.length; d++) {
      const q = Math.floor(rem / bIdx[d]!);
      rem -= q * bIdx[d]!;
      ao += q * aStr[d]!;
      bo += q * bStr[d]!;
    }
    ao *= m * k;
    bo *= k * p;
    const oo = bi * m * p;
    for (let i = 0; i < m; i++) {
      for (let kk = 0; kk < k; kk++) {
        const av = a.data[ao + i * k + kk]!;
        if (av === 0) continue;
        const brow = bo + kk * p;
        const orow = oo + i * p;
        for (let j = 0; j < p; j++) out[orow + j]! += av * b.data[brow + j]!;
      }
    }
  }
  return { data: out, shape: [...batch, m, p] };
}

export function conv2d(x: RefTensor, w: RefTensor, pads: readonly [number, number, number, number]): RefTensor {
  const [n, cin, h, wd] = x.shape as [number, number, number, number];
  const [cout, , kh, kw] = w.shape as [number, number, number, number];
  const [pt, pl, pb, pr] = pads;
  const oh = h + pt + pb - kh + 1;
  const ow = wd + pl + pr - kw + 1;
  const out = new Float64Array(n * cout * oh * ow);
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      const obase = (b * cout + co) * oh * ow;
      for (let ci = 0; ci < cin; ci++) {
        const xbase = (b * cin + ci) * h * wd;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const wv = w.data[((co * cin + ci) * kh + ky) * kw + kx]!;
            if (wv === 0) continue;
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy + ky - pt;
              if (iy < 0 || iy >= h) continue;
              const xrow = xbase + iy * wd;
              const orow = obase + oy * ow;
              const ox0 = Math.max(0, pl - kx);
              const ox1 = Math.min(ow, wd + pl - kx);
              for (let ox = ox0; ox < ox1; ox++) out[orow + ox]! += wv * x.data[xrow + ox + kx - pl]!;
            }
          }
        }
      }
    }
  }
  return { data: out, shape: [n, cout, oh, ow] };
}

/** conv2d's filter gradient: out[co, ci, i, j] = Σₙ Σ_{p,q} xpad[n, ci, p+i, q+j] · dy[n, co, p, q]. */
export function conv2dWeightGrad(x: RefTensor, dy: RefTensor, pads: readonly [number, number, number, number], kernel: readonly [number, number]): RefTensor {
  const [n, cin, h, wd] = x.shape as [number, number, number, number];
  const [, cout, oh, ow] = dy.shape as [number, number, number, number];
  const [kh, kw] = kernel;
  const [pt, pl] = pads;
  const out = new Float64Array(cout * cin * kh * kw);
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      const dbase = (b * cout + co) * oh * ow;
      for (let ci = 0; ci < cin; ci++) {
        const xbase = (b * cin + ci) * h * wd;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            let acc = 0;
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy + ky - pt;
              if (iy < 0 || iy >= h) continue;
              const xrow = xbase + iy * wd;
              const drow = dbase + oy * ow;
              const ox0 = Math.max(0, pl - kx);
              const ox1 = Math.min(ow, wd + pl - kx);
              for (let ox = ox0; ox < ox1; ox++) acc += x.data[xrow + ox + kx - pl]! * dy.data[drow + ox]!;
            }
            out[((co * cin + ci) * kh + ky) * kw + kx]! += acc;
          }
        }
      }
    }
  }
  return { data: out, shape: [cout, cin, kh, kw] };
}

export function transpose(x: RefTensor, perm: readonly number[]): RefTensor {
  const shape = perm.map((p) => x.shape[p]!);
  const inStr = stridesOf(x.shape);
  const str = perm.map((p) => inStr[p]!);
  const n = x.data.length;
  const out = new Float64Array(n);
  const r = shape.length;
  const idx = new Array<number>(r).fill(0);
  let o = 0;
  for (let i = 0; i < n; i++) {
    out[i] = x.data[o]!;
    for (let d = r - 1; d >= 0; d--) {
      idx[d]!++;
      o += str[d]!;
      if (idx[d]! < shape[d]!) break;
      o -= str[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return { data: out, shape };
}

/** Picks `indices` along `axis` (covers slice and gather). */
export function take(x: RefTensor, axis: number, indices: readonly number[]): RefTensor {
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const d = x.shape[axis]!;
  const out = new Float64Array(outer * indices.length * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < indices.length; j++) {
      const src = (o * d + indices[j]!) * inner;
      out.set(x.data.subarray(src, src + inner), (o * indices.length + j) * inner);
    }
  }
  const shape = [...x.shape];
  shape[axis] = indices.length;
  return { data: out, shape };
}

export function concat(xs: readonly RefTensor[], axis: number): RefTensor {
  const first = xs[0]!;
  const outer = sizeOf(first.shape.slice(0, axis));
  const inner = sizeOf(first.shape.slice(axis + 1));
  const total = xs.reduce((s, x) => s + x.shape[axis]!, 0);
  const out = new Float64Array(outer * total * inner);
  for (let o = 0; o < outer; o++) {
    let at = o * total * inner;
    for (const x of xs) {
      const len = x.shape[axis]! * inner;
      out.set(x.data.subarray(o * len, (o + 1) * len), at);
      at += len;
    }
  }
  const shape = [...first.shape];
  shape[axis] = total;
  return { data: out, shape };
}

export function cumsum(x: RefTensor, axis: number): RefTensor {
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const d = x.shape[axis]!;
  const out = new Float64Array(x.data);
  for (let o = 0; o < outer; o++) {
    for (let j = 1; j < d; j++) {
      const at = (o * d + j) * inner;
      for (let i = 0; i < inner; i++) out[at + i]! += out[at - inner + i]!;
    }
  }
  return { data: out, shape: x.shape };
}

/** LU decomposition with partial pivoting of a square matrix (row-major, float64). */
function lu(a: Float64Array, n: number): { lu: Float64Array; perm: number[]; sign: number } {
  const m = new Float64Array(a);
  const perm = Array.from({ length: n }, (_, i) => i);
  let sign = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]!) > Math.abs(m[p * n + k]!)) p = i;
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = m[k * n + j]!;
        m[k * n + j] = m[p * n + j]!;
        m[p * n + j] = t;
      }
      [perm[k], perm[p]] = [perm[p]!, perm[k]!];
      sign = -sign;
    }
    const piv = m[k * n + k]!;
    if (piv === 0) continue;
    for (let i = k + 1; i < n; i++) {
      const f = (m[i * n + k]! /= piv);
      for (let j = k + 1; j < n; j++) m[i * n + j]! -= f * m[k * n + j]!;
    }
  }
  return { lu: m, perm, sign };
}

export function logAbsDet(a: RefTensor): RefTensor {
  const n = a.shape[0]!;
  const { lu: m } = lu(a.data, n);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(Math.abs(m[i * n + i]!));
  return { data: Float64Array.of(s), shape: [] };
}

export function matrixInverse(a: RefTensor): RefTensor {
  const n = a.shape[0]!;
  const { lu: m, perm } = lu(a.data, n);
  const inv = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    // Solve L U x = P e_c.
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = perm[i] === c ? 1 : 0;
      for (let j = 0; j < i; j++) s -= m[i * n + j]! * y[j]!;
      y[i] = s;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let j = i + 1; j < n; j++) s -= m[i * n + j]! * inv[j * n + c]!;
      inv[i * n + c] = s / m[i * n + i]!;
    }
  }
  return { data: inv, shape: [n, n] };
}
