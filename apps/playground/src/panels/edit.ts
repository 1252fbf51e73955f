import type { Tensor } from '@bijective/core';
import { attributeDirection, editAlong } from '@bijective/models';
import { $, option, type App } from '../app.js';
import { drawImages } from '../draw.js';

const FRAMES = 7;
const ZOOM = 3;
/** Where the labelled images come from, and the flow whose latent space is edited. */
const LABELLER = 'glow-fmnist-cond-small';
const EDITED = 'glow-fmnist-small';

function oneHot(n: number, k: number, classes: number): Tensor {
  const data = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) data[i * classes + k] = 1;
  return { data, shape: [n, classes] };
}

/**
 * An attribute edit in the browser with `attributeDirection` and `editAlong` of
 * `@bijective/models`: labelled groups are samples of the class-conditional Glow (temperature 0.6,
 * seeded), the direction and the edit are in the unconditional Glow's latent space.
 */
export function editPanel(app: App, available: readonly string[], engine: () => string): void {
  const selA = $<HTMLSelectElement>('edit-a');
  const selB = $<HTMLSelectElement>('edit-b');
  const scale = $<HTMLInputElement>('edit-scale');
  const strip = $<HTMLCanvasElement>('edit-strip');
  const runBtn = $<HTMLButtonElement>('edit-run');
  if (!available.includes(LABELLER) || !available.includes(EDITED)) {
    runBtn.disabled = true;
    $('edit-panel').querySelector('.note')!.textContent = `needs the shipped checkpoints ${LABELLER} and ${EDITED}; this build has ${available.join(', ') || 'none'}`;
    return;
  }
  scale.addEventListener('input', () => ($('edit-scale-value').textContent = Number(scale.value).toFixed(1)));
  void app
    .checkpoint(LABELLER)
    .then((c) => {
      const k = c.flow.spec.context![0]!;
      const names = ((c.meta.context as { names?: string[] } | undefined)?.names ?? []).slice(0, k);
      for (let i = 0; i < k; i++) {
        option(selA, String(i), names[i] ?? `class ${i}`);
        option(selB, String(i), names[i] ?? `class ${i}`);
      }
      // The example: shirt vs T-shirt/top.
      selA.value = String(Math.max(0, names.indexOf('Shirt')));
      selB.value = String(Math.max(0, names.indexOf('T-shirt/top')));
    })
    .catch((e) => app.error(`loading ${LABELLER}`, e));

  const run = () =>
    app.task(`attribute edit on ${engine()}`, async (progress) => {
      const [a, b] = [Number(selA.value), Number(selB.value)];
      if (a === b) throw new Error('pick two different classes: the direction goes from the second class to the first');
      const per = Math.min(128, Math.max(1, Math.round(Number($<HTMLInputElement>('edit-per').value))));
      const eng = engine();
      const labeller = await app.checkpoint(LABELLER);
      const k = labeller.flow.spec.context![0]!;
      progress(`drawing ${per} labelled images of each class from ${LABELLER}`);
      const cond = await app.runtime(LABELLER, eng);
      const groupA = await cond.sample({ n: per, temperature: 0.6, seed: 1, context: oneHot(per, a, k) });
      const groupB = await cond.sample({ n: per, temperature: 0.6, seed: 2, context: oneHot(per, b, k) });
      progress(`encoding both groups with ${EDITED}`);
      const rt = await app.runtime(EDITED, eng);
      const direction = await attributeDirection(rt, groupA, groupB, { batch: 32 });
      const size = groupB.data.length / per;
      const x = { data: groupB.data.slice(0, size), shape: [1, ...groupB.shape.slice(1)] };
      const frames = await editAlong(rt, x, direction, { steps: FRAMES, scale: Number(scale.value) });
      const [, h, w] = groupB.shape.slice(1) as [number, number, number];
      drawImages(strip, frames.data, FRAMES, h, w, FRAMES, ZOOM);
      let recon = 0;
      let moved = 0;
      for (let i = 0; i < size; i++) {
        recon = Math.max(recon, Math.abs(frames.data[i]! - x.data[i]!));
        moved += Math.abs(frames.data[(FRAMES - 1) * size + i]! - frames.data[i]!) / size;
      }
      app.hook.lastEdit = { engine: rt.engine, from: b, to: a, perClass: per, directionNorm: Math.hypot(...direction), reconstructionError: recon, meanChange: moved };
    });
  runBtn.addEventListener('click', () => void run());
}
