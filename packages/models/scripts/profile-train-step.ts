/**
 * Per-operator profile of one training step's gradient model on onnxruntime-node (ORT's own
 * profiler), summed by op type and listed by node: where a step's time goes.
 *
 *   node --conditions=@bijective/source --import tsx scripts/profile-train-step.ts \
 *     [--preset glow-fmnist-small] [--batch 64] [--steps 5] [--top 25] [--threads cores]
 *
 * `--threads 1 --batch 32` profiles what one worker of data-parallel training runs on 2 cores.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOSS_OUTPUTS, Rng, createFlow, densityLossGraph, runGraph, trainableParams } from '@bijective/core';
import { exportGradientModel } from '@bijective/backend-onnx';
import * as ort from 'onnxruntime-node';
import { presets } from '../src/presets/registry.js';
import { arg } from './args.js';

const preset = presets[arg('preset', 'glow-fmnist-small')]!;
const batch = Number(arg('batch', '64'));
const steps = Number(arg('steps', '5'));
const top = Number(arg('top', '25'));
const threads = Number(arg('threads', String(availableParallelism())));
const spec = preset.spec();
const flow = createFlow(spec, { seed: 0 });
const graph = densityLossGraph(flow);
const model = exportGradientModel(graph, { loss: LOSS_OUTPUTS.loss, wrt: trainableParams(flow) });
const prefix = join(tmpdir(), `bijective-profile-${process.pid}`);
const session = await ort.InferenceSession.create(model.bytes, {
  graphOptimizationLevel: 'all',
  intraOpNumThreads: threads,
  executionMode: 'sequential',
  enableProfiling: true,
  profileFilePrefix: prefix,
});
const rng = new Rng(1);
const size = spec.event.reduce((a, b) => a * b, 1);
const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', Float32Array.from({ length: batch * size }, () => rng.uniform()), [batch, ...spec.event]) };
for (const [onnxName, p] of Object.entries(model.paramInputs)) feeds[onnxName] = new ort.Tensor('float32', Float32Array.from(flow.params[p]!.data), flow.params[p]!.shape);
const values = runGraph(model.paramOnlyGraph, { params: flow.params, inputs: {}, batch: 1 });
for (const [onnxName, out] of Object.entries(model.computedInputs)) feeds[onnxName] = new ort.Tensor('float32', Float32Array.from(values[out]!.data), values[out]!.shape);
for (let i = 0; i < steps + 1; i++) await session.run(feeds);
session.endProfiling();
await session.release();
// onnxruntime-node writes <prefix>_<date>.json and does not return its name.
const base = prefix.slice(tmpdir().length + 1);
const file = join(tmpdir(), readdirSync(tmpdir()).find((f) => f.startsWith(base) && f.endsWith('.json'))!);
interface Ev { cat: string; name: string; dur: number; args?: { op_name?: string; output_type_shape?: unknown; input_type_shape?: unknown } }
const events = (JSON.parse(readFileSync(file, 'utf8')) as Ev[]).filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
rmSync(file, { force: true });
// The first run is warm-up.
const perRun = events.length / (steps + 1);
const timed = events.slice(perRun);
const byOp = new Map<string, number>();
const byNode = new Map<string, { op: string; us: number; shapes: string }>();
for (const e of timed) {
  const op = e.args?.op_name ?? '?';
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  const n = byNode.get(e.name) ?? { op, us: 0, shapes: JSON.stringify(e.args?.input_type_shape ?? '') + ' -> ' + JSON.stringify(e.args?.output_type_shape ?? '') };
  n.us += e.dur;
  byNode.set(e.name, n);
}
const total = [...byOp.values()].reduce((a, b) => a + b, 0) / steps;
console.log(`${perRun} kernels per step, ${(total / 1000).toFixed(1)} ms of kernel time per step`);
for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1])) console.log(`${op.padEnd(22)} ${(us / steps / 1000).toFixed(2).padStart(8)} ms`);
console.log('--- nodes');
for (const [name, n] of [...byNode].sort((a, b) => b[1].us - a[1].us).slice(0, top)) console.log(`${(n.us / steps / 1000).toFixed(2).padStart(7)} ms ${n.op.padEnd(16)} ${name.slice(0, 40)} ${n.shapes.slice(0, 200)}`);
// Nodes of the same op and shapes, together: what a lowering pattern costs per step.
const byKind = new Map<string, { us: number; count: number }>();
for (const n of byNode.values()) {
  const k = `${n.op} ${n.shapes}`;
  const e = byKind.get(k) ?? { us: 0, count: 0 };
  e.us += n.us;
  e.count += 1;
  byKind.set(k, e);
}
// Kernels whose outputs hold under 4096 values: parameter-sized work, where a kernel's fixed cost dominates.
let smallUs = 0;
let smallCount = 0;
for (const n of byNode.values()) {
  const out = JSON.parse(n.shapes.split(' -> ')[1] ?? '[]') as Record<string, number[]>[];
  const values = out.reduce((a, o) => a + Object.values(o).reduce((b, dims) => b + dims.reduce((c, d) => c * d, 1), 0), 0);
  if (values < 4096) {
    smallUs += n.us;
    smallCount++;
  }
}
console.log(`--- small kernels (outputs < 4096 values): ${smallCount} per step, ${(smallUs / steps / 1000).toFixed(1)} ms`);
console.log('--- op and shapes');
for (const [k, e] of [...byKind].sort((a, b) => b[1].us - a[1].us).slice(0, top)) console.log(`${(e.us / steps / 1000).toFixed(2).padStart(7)} ms ${String(e.count).padStart(4)}x ${k.slice(0, 220)}`);
