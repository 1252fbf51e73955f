/**
 * The residual of mintBlock's fixed-point inverse on trained weights, per block and per
 * iteration count k, on the float64 reference interpreter:
 *
 *   node --conditions=@bijective/source --import tsx scripts/mint-residuals.ts CHECKPOINT [N] [k,k,...]
 *
 * Per block: x = the block's input on N Fashion-MNIST test images (mid-bin dequantised, run
 * through the layers before it), z = f(x), x_k = the inverse with k iterations;
 * prints max|f(x_k) − z| and max|x_k − x| over the blocks. Whole flow: z ~ N(0, T²) for
 * T = 0.7 and 1 (the sampling direction), x_k = f⁻¹(z) with every block at k iterations,
 * prints max|f(x_k) − z|.
 */
import { Rng, createFlow, runReference, traceFlow, type Flow, type FlowSpec, type LayerSpec, type Tensor } from '@bijective/core';
import { loadCheckpoint } from '@bijective/core/node';
import { loadFashionMnist } from '../src/node.js';

const [dir, nArg, ksArg] = process.argv.slice(2);
if (!dir) throw new Error('usage: mint-residuals.ts CHECKPOINT [N] [k,k,...]');
const n = Number(nArg ?? 4);
const ks = (ksArg ?? '1,2,3,4,5,6,8,10,15,20,30,40,50').split(',').map(Number);

const { flow } = await loadCheckpoint(dir);
const images = (await loadFashionMnist()).test;
const d = 784;
const x0: Tensor = { data: Float64Array.from(images.data.subarray(0, n * d), (v) => (v + 0.5) / 256), shape: [n, 1, 28, 28] };

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** A flow of `layers` (with parameters copied from the trained flow's layers `from..`) on `event`. */
function subFlow(event: number[], layers: LayerSpec[], from: number): Flow {
  const spec: FlowSpec = { version: flow.spec.version, event, layers };
  const sub = createFlow(spec);
  for (const [name, p] of Object.entries(sub.params)) {
    const [, i, ...rest] = name.split('.');
    const src = flow.params[`layers.${Number(i) + from}.${rest.join('.')}`];
    if (!src) throw new Error(`no trained parameter for ${name}`);
    p.data.set(src.data);
  }
  return sub;
}

const own = (t: { data: ArrayLike<number>; shape: readonly number[] }): Tensor => ({ data: Float64Array.from(t.data), shape: [...t.shape] });
const encode = (f: Flow, x: Tensor) => own(runReference(f, traceFlow(f, 'density'), { x }).z!);
const decode = (f: Flow, z: Tensor) => own(runReference(f, traceFlow(f, 'sample'), { z }).x!);

const blocks = flow.layers.flatMap((layer, i) => (layer.spec.type === 'mintBlock' ? [{ layer, spec: layer.spec, i }] : []));
const worst = new Map<number, { res: number; err: number }>();
for (const { layer, spec, i } of blocks) {
  // The block's input: the layers before it, up to its own input. A split makes the prefix's z
  // the concatenation of its pieces; the block sees the last one.
  const prefix = subFlow(flow.spec.event, flow.spec.layers.slice(0, i), 0);
  const zPrefix = i === 0 ? x0 : encode(prefix, x0);
  const size = layer.inShape.reduce((a, b) => a * b, 1);
  const per = zPrefix.data.length / n;
  const xIn = new Float64Array(n * size);
  for (let e = 0; e < n; e++) xIn.set(Array.from(zPrefix.data).slice(e * per + per - size, (e + 1) * per), e * size);
  const x: Tensor = { data: xIn, shape: [n, ...layer.inShape] };
  const block = (k: number) => subFlow([...layer.inShape], [{ ...spec, iterations: k }], i);
  const z = encode(block(1), x);
  const row: string[] = [];
  for (const k of ks) {
    const f = block(k);
    const xk = decode(f, z);
    const res = maxAbs(encode(f, xk).data, z.data);
    const err = maxAbs(xk.data, x.data);
    const w = worst.get(k) ?? { res: 0, err: 0 };
    worst.set(k, { res: Math.max(w.res, res), err: Math.max(w.err, err) });
    row.push(`${k}:${res.toExponential(0)}`);
  }
  console.log(`block ${i} [${layer.inShape.join(', ')}] ${spec.order}  max|z|=${Math.max(...Array.from(z.data, Math.abs)).toFixed(2)}  ${row.join(' ')}`);
}
console.log('\nk   | max over blocks of max|f(x_k) − z| | max|x_k − x|');
for (const k of ks) console.log(`${String(k).padEnd(3)} | ${worst.get(k)!.res.toExponential(1)} | ${worst.get(k)!.err.toExponential(1)}`);

// Whole flow, sampling direction.
const rng = new Rng(0);
console.log('\nwhole flow, z ~ N(0, T²): max|f(f⁻¹(z)) − z|');
for (const t of [0.7, 1]) {
  const z: Tensor = { data: Float64Array.from(rng.normals(n * d, t)), shape: [n, d] };
  const row: string[] = [];
  for (const k of ks.filter((v) => v >= 5)) {
    const f = subFlow(flow.spec.event, flow.spec.layers.map((l) => (l.type === 'mintBlock' ? { ...l, iterations: k } : l)), 0);
    const x = decode(f, { data: z.data, shape: [n, ...flow.spec.event] });
    row.push(`${k}:${maxAbs(encode(f, x).data, z.data).toExponential(1)}`);
  }
  console.log(`T = ${t}: ${row.join(' ')}`);
}
