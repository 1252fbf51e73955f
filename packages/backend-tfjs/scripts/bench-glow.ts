/**
 * Throughput of the small Glow on tfjs engines: training images/s and logProb images/s.
 *
 *   node --conditions=@bijective/source --import tsx scripts/bench-glow.ts \
 *     [--engines tfjs-wasm,tfjs-cpu] [--steps 20] [--warmup 3] [--batch 64] [--profile]
 *
 * The flow is `glow-fmnist-small`: 1×28×28, 2 levels × 8 steps of ActNorm → 1×1 conv (LU)
 * → affine coupling (CNN, hidden 64), squeeze per level, conditional split between levels;
 * data are random 8-bit images (throughput does not depend on the values). Training runs
 * `train()` itself (batching, dequantisation, forward, backward, Adam); the first steps
 * are warm-up and not counted. `--profile` prints where one training step spends its time.
 */
import * as tf from '@tensorflow/tfjs-core';
import { LOSS_OUTPUTS, Rng, countFlops, createFlow, densityLossGraph, traceFlow, type FlowSpec, type LayerSpec } from '@bijective/core';
import { listEngines, tfjsGradients, tfjsRuntime, train } from '../src/node.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const engines = arg('engines', 'tfjs-wasm,tfjs-cpu').split(',');
const steps = Number(arg('steps', '20'));
const batch = Number(arg('batch', '64'));
const warmup = Number(arg('warmup', '3'));
const profile = process.argv.includes('--profile');

function glowSmall(): FlowSpec {
  const layers: LayerSpec[] = [];
  for (let l = 0; l < 2; l++) {
    layers.push({ type: 'squeeze' });
    for (let k = 0; k < 8; k++) {
      layers.push(
        { type: 'actNorm' },
        { type: 'invConv1x1', variant: 'lu' },
        { type: 'affineCoupling', mask: 'channel', parity: 0, conditioner: { type: 'cnn', hidden: 64 }, scale: 'sigmoid' },
      );
    }
    if (l === 0) layers.push({ type: 'split', prior: 'conditional' });
  }
  return { version: 1, event: [1, 28, 28], layers, name: 'glow-fmnist-small' };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spec = glowSmall();
const rng = new Rng(1);
const images = { data: Uint8Array.from({ length: 512 * 784 }, () => rng.int(256)), shape: [512, 1, 28, 28] };
const flops = countFlops(traceFlow(createFlow(spec, { seed: 0 }), 'density'));
console.log(`glow-fmnist-small: ${(flops.macs / 1e6).toFixed(1)} M multiply-adds per image (density pass); batch ${batch}`);
console.log((await listEngines()).filter((e) => engines.includes(e.engine)).map((e) => `${e.engine}: ${e.available ? (e.detail ?? 'available') : e.reason}`).join('\n'));

for (const engine of engines) {
  const flow = createFlow(spec, { seed: 0 });
  const rates: number[] = [];
  const t0 = performance.now();
  await train(flow, images, {
    engine,
    steps: warmup + steps,
    batchSize: batch,
    lr: 1e-3,
    dequantize: { bins: 256 },
    onStep: (p) => void (p.kind === 'step' && p.step >= warmup && rates.push(p.examplesPerSecond)),
  });
  const wall = (performance.now() - t0) / 1000;
  const rt = await tfjsRuntime(flow, { engine });
  const x = { data: Float32Array.from({ length: batch * 784 }, () => rng.uniform()), shape: [batch, 1, 28, 28] };
  for (let i = 0; i < 2; i++) await rt.logProb(x);
  const lpRates: number[] = [];
  for (let i = 0; i < 10; i++) {
    const s = performance.now();
    await rt.logProb(x);
    lpRates.push((batch * 1000) / (performance.now() - s));
  }
  await rt.dispose();
  console.log(
    `${engine}: training ${median(rates).toFixed(1)} images/s (median of ${steps} steps; ${(((warmup + steps) * batch) / wall).toFixed(1)} over the whole run incl. init and warm-up), ` +
      `logProb ${median(lpRates).toFixed(1)} images/s (${((median(lpRates) * flops.flops) / 1e9).toFixed(2)} GFLOP/s)`,
  );

  if (profile) {
    const wrt = Object.keys(flow.params).filter((n) => flow.paramDecls[n]!.trainable !== false);
    const program = await (await tfjsGradients(engine)).compile(densityLossGraph(flow), { loss: LOSS_OUTPUTS.loss, wrt });
    const params = Object.fromEntries(Object.entries(flow.params).map(([n, p]) => [n, p.data]));
    for (let i = 0; i < 2; i++) await program.run({ x }, params);
    const info = await tf.profile(async () => {
      await program.run({ x }, params);
    });
    const byKernel = new Map<string, { n: number; ms: number }>();
    for (const k of info.kernels) {
      const e = byKernel.get(k.name) ?? { n: 0, ms: 0 };
      e.n += 1;
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      byKernel.set(k.name, e);
    }
    const total = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
    console.log(`  one forward+backward: ${info.kernels.length} kernels, ${total.toFixed(1)} ms in kernels`);
    for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40)) console.log(`    ${name.padEnd(22)} ${String(e.n).padStart(5)}× ${e.ms.toFixed(1).padStart(8)} ms`);
    const byShape = new Map<string, { n: number; ms: number }>();
    for (const k of info.kernels) {
      if (!k.name.startsWith('Conv2D')) continue;
      const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
      const e = byShape.get(key) ?? { n: 0, ms: 0 };
      e.n += 1;
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      byShape.set(key, e);
    }
    console.log('  convolutions by input shapes:');
    for (const [key, e] of [...byShape].sort((a, b) => b[1].ms - a[1].ms)) console.log(`    ${key.padEnd(70)} ${String(e.n).padStart(3)}× ${(e.ms / e.n).toFixed(2).padStart(7)} ms each`);
    await program.dispose();
  }
}
