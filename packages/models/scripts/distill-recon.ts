/**
 * What the pair term of `bijective distill --pair-weight` sees: test images x (top row) and the
 * student's sample of the teacher's latent of them, g_q(f_p(x)) (bottom row), as a PNG strip,
 * with the term ½‖g_q(f_p(x)) − x‖² of each image. A student that covers the teacher's modes
 * redraws every image; a collapsed one draws its one garment for all of them.
 *
 *   node --conditions=@bijective/source --import tsx scripts/distill-recon.ts \
 *     --teacher DIR --student DIR --out strip.png [--n 16] [--engine ort-node-cpu]
 */
import { writeFile } from 'node:fs/promises';
import { Rng } from '@bijective/core';
import { loadCheckpoint } from '@bijective/core/node';
import { PNG } from 'pngjs';
import { datasetFor, type TrainMeta } from '../src/cli/common.js';
import { gatherExamples } from '../src/datasets/batches.js';
import { loadBackends, openRuntime } from '../src/engines.js';
import { arg } from './args.js';

const engine = arg('engine', 'ort-node-cpu');
const n = Number(arg('n', '16'));
await loadBackends(engine);
const teacher = await loadCheckpoint(arg('teacher'));
const student = await loadCheckpoint(arg('student'));
const event = teacher.flow.spec.event;
const d = event.reduce((a, b) => a * b, 1);
const side = Math.round(Math.sqrt(d));
if (side * side !== d) throw new Error(`distill-recon: draws square images; the event ${event.join('×')} is not`);
const dataset = await datasetFor(teacher.meta as TrainMeta, {}, 'distill-recon');
const x = gatherExamples(dataset, 'test', Array.from({ length: n }, (_, i) => i), event, new Rng(0));
const tr = await openRuntime(teacher.flow, engine);
const sr = await openRuntime(student.flow, engine);
const xhat = await sr.decode((await tr.encode(x)).z);
await tr.dispose();
await sr.dispose();
const pair = Array.from({ length: n }, (_, i) => {
  let s = 0;
  for (let j = 0; j < d; j++) s += 0.5 * (xhat.data[i * d + j]! - x.data[i * d + j]!) ** 2;
  return s;
});
console.log(`½‖g_q(f_p(x)) − x‖² of test images 0..${n - 1}: ${pair.map((v) => v.toFixed(2)).join(' ')}`);
console.log(`mean ${(pair.reduce((a, b) => a + b, 0) / n).toFixed(3)}`);
const png = new PNG({ width: side * n, height: 2 * side });
for (const [row, src] of [[0, x.data], [side, xhat.data]] as const) {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const o = ((row + Math.floor(j / side)) * side * n + i * side + (j % side)) * 4;
      png.data[o] = png.data[o + 1] = png.data[o + 2] = Math.max(0, Math.min(255, Math.round(src[i * d + j]! * 255)));
      png.data[o + 3] = 255;
    }
  }
}
await writeFile(arg('out'), PNG.sync.write(png));
