/**
 * Throughput of exported flows on ONNX Runtime (a report, not a test).
 *
 *   npx tsx --conditions @bijective/source scripts/bench.ts [glow] [conv] [autoregressive] [profile]
 *     [--engines ort-node-cpu,ort-web-wasm] [--seconds 3] [--dims 2,784] [--loops unroll,loop]
 *
 * - glow: logProb and sample at batch 64 for a small Glow (1×28×28, 2 levels × 8 steps of
 *   actNorm → invConv1x1 (LU) → affine coupling with a CNN of width 64), with GFLOP/s from
 *   core's countFlops;
 * - conv: the same convolutions as a plain conv stack (no flow ops), the ceiling to compare with;
 * - autoregressive: MAF sampling and IAF density at D = 2 and D = 784, loops unrolled vs ONNX Loop;
 * - profile: where the Glow's logProb time goes on ort-node-cpu, per op type and per conv shape
 *   (ONNX Runtime's profiler, after its graph optimisations).
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { GraphBuilder, Rng, countFlops, createFlow, sizeOf, traceFlow, type Flow, type FlowSpec, type LayerSpec, type Tensor } from '@bijective/core';
import { encodeModel } from '../src/model.js';
import { lowerGraph, type LoopLowering } from '../src/lower.js';
import { exportOnnx, ortRuntime, type OrtEngine } from '../src/node.js';

const args = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : def;
};
const engines = flag('engines', 'ort-node-cpu,ort-web-wasm').split(',') as OrtEngine[];
const seconds = Number(flag('seconds', '3'));
const parts = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const want = (p: string) => parts.length === 0 || parts.includes(p);
const BATCH = 64;
const fmt = (v: number, d = 1) => v.toFixed(d);

function glowSpec(steps: number, hidden: number): FlowSpec {
  const layers: LayerSpec[] = [];
  for (let level = 0; level < 2; level++) {
    if (level > 0) layers.push({ type: 'split', prior: 'conditional' });
    layers.push({ type: 'squeeze' });
    for (let k = 0; k < steps; k++) {
      layers.push(
        { type: 'actNorm' },
        { type: 'invConv1x1', variant: 'lu' },
        { type: 'affineCoupling', mask: 'channel', parity: 0, conditioner: { type: 'cnn', hidden }, scale: 'sigmoid' },
      );
    }
  }
  return { version: 1, event: [1, 28, 28], layers, name: 'glow' };
}

function perturbed(spec: FlowSpec, std = 0.05): Flow {
  const flow = createFlow(spec, { seed: 1 });
  const rng = new Rng(2);
  for (const [name, p] of Object.entries(flow.params)) {
    if (flow.paramDecls[name]!.trainable === false) continue;
    for (let i = 0; i < p.data.length; i++) p.data[i]! += std * rng.normal();
  }
  return flow;
}

function input(shape: number[], seed: number): Tensor {
  return { data: Float32Array.from(new Rng(seed).normals(sizeOf(shape))), shape };
}

/**
 * Seconds per call over at least `seconds` (after two warm-up calls): the minimum, which
 * approximates an idle machine when others share the cores, and the median.
 */
async function time(fn: () => Promise<unknown>): Promise<{ min: number; median: number }> {
  await fn();
  await fn();
  const samples: number[] = [];
  const start = performance.now();
  while (performance.now() - start < seconds * 1000 || samples.length < 5) {
    const t = performance.now();
    await fn();
    samples.push((performance.now() - t) / 1000);
  }
  samples.sort((a, b) => a - b);
  return { min: samples[0]!, median: samples[Math.floor(samples.length / 2)]! };
}

/** "12.3 ms (median 15.0) = 5203 ex/s = 21.0 GFLOP/s", from the minimum. */
function rate(t: { min: number; median: number }, flopsPerExample: number): string {
  return `${fmt(t.min * 1000, 2)} ms (median ${fmt(t.median * 1000, 2)}) = ${fmt(BATCH / t.min, 0)} ex/s = ${fmt((flopsPerExample * BATCH) / t.min / 1e9, 2)} GFLOP/s`;
}


async function benchGlow() {
  const flow = perturbed(glowSpec(8, 64));
  const density = countFlops(traceFlow(flow, 'density'));
  const sample = countFlops(traceFlow(flow, 'sample'));
  const t0 = performance.now();
  const models = exportOnnx(flow);
  console.log(`glow 1×28×28, 2×8 steps, width 64: export ${fmt(performance.now() - t0, 0)} ms, log_prob.onnx ${(models.logProb.length / 1e6).toFixed(2)} MB`);
  console.log(`  flops/example: density ${(density.flops / 1e6).toFixed(1)} M (${(density.macs / 1e6).toFixed(1)} M MACs), sample ${(sample.flops / 1e6).toFixed(1)} M`);
  const x = input([BATCH, 1, 28, 28], 3);
  for (const engine of engines) {
    const rt = await ortRuntime(models, { engine });
    const tl = await time(() => rt.logProb(x));
    const ts = await time(() => rt.sample({ n: BATCH, seed: 1 }));
    console.log(`  ${engine}: logProb ${rate(tl, density.flops)}; sample ${rate(ts, sample.flops)}`);
    await rt.dispose();
  }
}

/** The Glow couplings' convolutions (3×3 → ReLU → 1×1 → ReLU → 3×3, bias adds), chained as one plain stack. */
async function benchConvStack() {
  const g = new GraphBuilder();
  const x = g.input('x', ['N', 4, 14, 14]);
  const params: Record<string, { data: Float32Array; shape: number[] }> = {};
  let seed = 10;
  const param = (name: string, shape: number[], std: number) => {
    params[name] = { data: Float32Array.from(new Rng(seed++).normals(sizeOf(shape), std)), shape };
    return g.param(name, shape);
  };
  const conv = (h: ReturnType<GraphBuilder['input']>, name: string, cin: number, cout: number, k: number) => {
    const p = (k - 1) / 2;
    const w = param(`${name}.w`, [cout, cin, k, k], Math.sqrt(1 / (cin * k * k)));
    const b = param(`${name}.b`, [cout], 0.01);
    return g.add(g.conv2d(h, w, [p, p, p, p]), g.reshape(b, [cout, 1, 1]));
  };
  let h = x;
  const levels: [number, number][] = [[4, 14], [8, 7]];
  for (const [li, [c]] of levels.entries()) {
    if (li === 1) h = g.reshape(g.slice(g.reshape(h, ['N', 4 * 14 * 14]), 1, 0, 8 * 7 * 7), ['N', 8, 7, 7]);
    for (let k = 0; k < 8; k++) {
      const a = g.slice(h, 1, 0, c / 2);
      let t = g.relu(conv(a, `l${li}s${k}c0`, c / 2, 64, 3));
      t = g.relu(conv(t, `l${li}s${k}c1`, 64, 64, 1));
      t = conv(t, `l${li}s${k}c2`, 64, c, 3);
      h = g.add(h, t);
    }
  }
  g.output('y', h);
  const graph = g.build();
  const flops = countFlops(graph);
  const bytes = encodeModel(lowerGraph(graph, params, { inputs: { x: 'x' }, outputs: { y: 'y' } }).graph, { producerVersion: 'bench' });
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: availableParallelism() });
  const feed = { x: new ort.Tensor('float32', Float32Array.from(new Rng(1).normals(BATCH * 4 * 14 * 14)), [BATCH, 4, 14, 14]) };
  const t = await time(() => session.run(feed));
  console.log(`plain conv stack with the Glow couplings' convolutions (${(flops.flops / 1e6).toFixed(1)} MFLOP/example), ort-node-cpu: ${rate(t, flops.flops)}`);
}

function arSpec(type: 'maf' | 'iaf', d: number): FlowSpec {
  const layers: LayerSpec[] = [];
  for (let b = 0; b < 5; b++) {
    if (b > 0) layers.push({ type: 'permute', kind: 'reverse' });
    layers.push({ type, hidden: [64, 64], activation: 'relu', order: 'natural' });
  }
  return { version: 1, event: [d], layers, name: type };
}

async function benchAutoregressive() {
  for (const d of flag('dims', '2,784').split(',').map(Number)) {
    for (const [type, direction] of [['maf', 'sample'], ['iaf', 'density']] as const) {
      const flow = perturbed(arSpec(type, d));
      const flops = countFlops(traceFlow(flow, direction));
      for (const loops of flag('loops', 'unroll,loop').split(',') as LoopLowering[]) {
        const t0 = performance.now();
        const models = exportOnnx(flow, { loops });
        const exportMs = performance.now() - t0;
        const size = (direction === 'sample' ? models.sample : models.logProb).length / 1e6;
        for (const engine of engines) {
          const t1 = performance.now();
          const rt = await ortRuntime(direction === 'sample' ? { sample: models.sample } : { logProb: models.logProb }, { engine });
          const loadMs = performance.now() - t1;
          const x = input([BATCH, d], 4);
          const t = await time(() => (direction === 'sample' ? rt.sample({ n: BATCH, seed: 1 }) : rt.logProb(x)));
          console.log(
            `${type.toUpperCase()} ${direction} D=${d} (5 blocks, MADE 64-64), ${loops}, ${engine}: ${rate(t, flops.flops)}; ` +
              `export ${fmt(exportMs, 0)} ms, file ${size.toFixed(2)} MB, session start ${fmt(loadMs, 0)} ms`,
          );
          await rt.dispose();
        }
      }
    }
  }
}

async function profileGlow() {
  const flow = perturbed(glowSpec(8, 64));
  const ort = await import('onnxruntime-node');
  const prefix = join(tmpdir(), `bijective-profile-${process.pid}`);
  const session = await ort.InferenceSession.create(exportOnnx(flow).logProb, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: availableParallelism(),
    enableProfiling: true,
    profileFilePrefix: prefix,
  });
  const feed = { x: new ort.Tensor('float32', Float32Array.from(new Rng(1).normals(BATCH * 784)), [BATCH, 1, 28, 28]) };
  const runs = 10;
  for (let i = 0; i < runs; i++) await session.run(feed);
  (session as unknown as { endProfiling(): void }).endProfiling();
  await session.release();
  const name = readdirSync(tmpdir()).find((f) => f.startsWith(basename(prefix)) && f.endsWith('.json'));
  if (!name) throw new Error(`no profile file ${prefix}*.json was written`);
  const file = join(tmpdir(), name);
  interface Event { cat: string; name: string; dur: number; args: { op_name?: string; input_type_shape?: Record<string, number[]>[] } }
  const events = (JSON.parse(readFileSync(file, 'utf8')) as Event[]).filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  rmSync(file, { force: true });
  const total = events.reduce((a, e) => a + e.dur, 0);
  const group = (key: (e: Event) => string | undefined) => {
    const m = new Map<string, [number, number]>();
    for (const e of events) {
      const k = key(e);
      if (k === undefined) continue;
      const v = m.get(k) ?? [0, 0];
      v[0] += e.dur;
      v[1]++;
      m.set(k, v);
    }
    return [...m].sort((a, b) => b[1][0] - a[1][0]);
  };
  console.log(`glow logProb, ort-node-cpu kernel time per run: ${fmt(total / runs / 1000)} ms`);
  for (const [op, [d, n]] of group((e) => e.args.op_name)) console.log(`  ${op.padEnd(16)} ${fmt(d / runs / 1000, 2).padStart(8)} ms  ${String(n / runs).padStart(4)} nodes  ${fmt((100 * d) / total)}%`);
  for (const [shape, [d, n]] of group((e) => (e.args.op_name === 'Conv' ? JSON.stringify(e.args.input_type_shape?.map((o) => Object.values(o)[0])) : undefined))) {
    console.log(`  Conv ${shape}: ${fmt(d / runs / 1000, 2)} ms for ${n / runs}`);
  }
}

console.log(`batch ${BATCH}, ${availableParallelism()} cores, median of >= ${seconds} s per figure`);
if (want('glow')) await benchGlow();
if (want('conv')) await benchConvStack();
if (want('autoregressive')) await benchAutoregressive();
if (want('profile')) await profileGlow();
