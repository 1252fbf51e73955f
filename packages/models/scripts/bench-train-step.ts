/**
 * Time of one training step's gradient computation (`GradientProgram.run`: forward, backward,
 * gradients read back) of a preset, on engines found through core's engine registry.
 *
 *   node --conditions=@bijective/source --import tsx scripts/bench-train-step.ts \
 *     [--preset glow-fmnist-small] [--engines ort-node-cpu,tfjs-wasm] [--batch 64] [--warmup 2] [--steps 5] [--json]
 *
 * The loss graph is the trainer's (`densityLossGraph`, differentiated w.r.t. the trainable
 * parameters); the batch is random values in [0, 1) (the time does not depend on them).
 * Prints min and median ms per step, plus compile time; `--json` prints one JSON line per
 * engine with every step's time, for A/B scripts that interleave runs of two checkouts.
 */
import { LOSS_OUTPUTS, Rng, createFlow, densityLossGraph, openGradients, trainableParams } from '@bijective/core';
import { loadBackends } from '../src/engines.js';
import { presets } from '../src/presets/registry.js';
import { arg } from './args.js';

const presetName = arg('preset', 'glow-fmnist-small');
const engines = arg('engines', 'ort-node-cpu,tfjs-wasm').split(',');
const batch = Number(arg('batch', '64'));
const warmup = Number(arg('warmup', '2'));
const steps = Number(arg('steps', '5'));
const json = process.argv.includes('--json');

const preset = presets[presetName];
if (!preset) throw new Error(`unknown preset '${presetName}' (presets: ${Object.keys(presets).join(', ')})`);
const spec = preset.spec();
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

for (const engine of engines) {
  await loadBackends(engine);
  const flow = createFlow(spec, { seed: 0 });
  const rng = new Rng(1);
  const size = spec.event.reduce((a, b) => a * b, 1);
  const x = { data: Float32Array.from({ length: batch * size }, () => rng.uniform()), shape: [batch, ...spec.event] };
  const params = Object.fromEntries(Object.entries(flow.params).map(([n, p]) => [n, Float32Array.from(p.data)]));
  const t0 = performance.now();
  const program = await (await openGradients(engine)).compile(densityLossGraph(flow), { loss: LOSS_OUTPUTS.loss, wrt: trainableParams(flow), meanOverBatch: true });
  const compileMs = performance.now() - t0;
  const times: number[] = [];
  let loss = NaN;
  for (let i = 0; i < warmup + steps; i++) {
    const s = performance.now();
    loss = (await program.run({ x }, params)).loss;
    if (i >= warmup) times.push(performance.now() - s);
  }
  await program.dispose();
  const t = sorted(times);
  if (json) console.log(JSON.stringify({ engine, preset: presetName, batch, compileMs, loss, times }));
  else console.log(`${engine} ${presetName} batch ${batch}: min ${t[0]!.toFixed(1)} ms, median ${t[Math.floor(t.length / 2)]!.toFixed(1)} ms per step (${steps} steps after ${warmup} warm-up; compile ${compileMs.toFixed(0)} ms; loss ${loss.toFixed(4)})`);
}
