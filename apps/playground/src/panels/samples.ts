import { sampleNoise, type Tensor } from '@bijective/core';
import { latentPath, type LatentPath } from '@bijective/models';
import { $, option, type App } from '../app.js';
import { cellAt, drawImages } from '../draw.js';
import type { CheckpointEntry } from '../../assets-plugin.js';

const N = 24;
const COLUMNS = 8;
const ZOOM = 3;

/** The one-hot context `[n, K]` of class `k`. */
function oneHot(n: number, k: number, classes: number): Tensor {
  const data = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) data[i * classes + k] = 1;
  return { data, shape: [n, classes] };
}

/** The images (of `size` values each) holding a NaN or an infinity. */
function nonFinite(data: ArrayLike<number>, n: number, size: number): Set<number> {
  const out = new Set<number>();
  for (let k = 0; k < n; k++) {
    for (let i = k * size; i < (k + 1) * size; i++) {
      if (!Number.isFinite(data[i]!)) {
        out.add(k);
        break;
      }
    }
  }
  return out;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/**
 * (a) A grid of samples from a shipped image flow at a temperature (and a class, for the
 * conditional Glow), and (b) the decoded path between two of their latents (slerp or linear).
 * The latents are core's seeded base noise, so a seed gives the same grid on every engine.
 */
export function samplePanel(app: App, models: readonly CheckpointEntry[], engine: () => string): void {
  const model = $<HTMLSelectElement>('sample-model');
  const klass = $<HTMLSelectElement>('sample-class');
  const temperature = $<HTMLInputElement>('temperature');
  const seed = $<HTMLInputElement>('sample-seed');
  const grid = $<HTMLCanvasElement>('sample-grid');
  const strip = $<HTMLCanvasElement>('interp-strip');
  for (const m of models) option(model, m.name, `${m.name}${m.conditional ? ' (class-conditional)' : ''}`);
  // The class-conditional Glow first: the shipped unconditional one (3.89 bits/dim after 2 600 steps) draws faint images.
  const first = ['glow-fmnist-cond-small', 'glow-fmnist-small'].find((n) => models.some((m) => m.name === n));
  if (first) model.value = first;
  let latents: { model: string; z: Float64Array | Float32Array; d: number; h: number; w: number; context?: Tensor } | undefined;
  let ends: [number, number] = [0, 1];
  const endsText = () => ($('interp-ends').textContent = `A = sample ${ends[0] + 1}, B = sample ${ends[1] + 1}`);

  const showClasses = async () => {
    const entry = models.find((m) => m.name === model.value);
    $('class-label').hidden = !entry?.conditional;
    klass.replaceChildren();
    if (!entry?.conditional) return;
    const c = await app.checkpoint(entry.name);
    const k = c.flow.spec.context![0]!;
    const names = ((c.meta.context as { names?: string[] } | undefined)?.names ?? []).slice(0, k);
    for (let i = 0; i < k; i++) option(klass, String(i), names[i] ?? `class ${i}`);
  };

  const sample = () =>
    app.task(`sampling ${model.value} on ${engine()}`, async (progress) => {
      const name = model.value;
      const eng = engine();
      progress('loading the checkpoint and starting the engine');
      const c = await app.checkpoint(name);
      const rt = await app.runtime(name, eng);
      const event = c.flow.spec.event;
      const [, h, w] = event as [number, number, number];
      const context = c.flow.spec.context ? oneHot(N, Number(klass.value || 0), c.flow.spec.context[0]!) : undefined;
      progress(`decoding ${N} latents`);
      const t0 = performance.now();
      const t = Number(temperature.value);
      const s = Number(seed.value);
      const z = sampleNoise({ n: N, temperature: t, seed: s }, event);
      const x = await rt.decode(z, context ? { context } : {});
      const ms = performance.now() - t0;
      const broken = nonFinite(x.data, N, h * w);
      drawImages(grid, x.data, N, h, w, COLUMNS, ZOOM, broken);
      latents = { model: name, z: z.data, d: z.data.length / N, h, w, ...(context ? { context } : {}) };
      let min = Infinity;
      let max = -Infinity;
      for (const v of x.data) {
        if (!Number.isFinite(v)) continue;
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      $('sample-note').textContent = broken.size
        ? `${broken.size} of ${N} samples decoded to non-finite values (outlined in red): the flow's inverse overflows for these latents; a lower temperature avoids it. Click a sample to make it an end of the interpolation below (left click: A, shift-click: B).`
        : 'Click a sample to make it an end of the interpolation below (left click: A, shift-click: B).';
      app.hook.lastSample = { model: name, engine: rt.engine, n: N, temperature: t, seed: s, min, max, ms, nonFinite: broken.size, pixels: Array.from(x.data) };
    });

  const interpolate = () =>
    app.task(`interpolating on ${engine()}`, async () => {
      if (!latents || latents.model !== model.value) throw new Error('sample a grid first: the interpolation joins two of its latents');
      const c = await app.checkpoint(latents.model);
      const rt = await app.runtime(latents.model, engine());
      const frames = Math.min(16, Math.max(2, Math.round(Number($<HTMLInputElement>('interp-frames').value))));
      const path = $<HTMLSelectElement>('interp-path').value as LatentPath;
      const { d } = latents;
      const a = latents.z.subarray(ends[0] * d, (ends[0] + 1) * d);
      const b = latents.z.subarray(ends[1] * d, (ends[1] + 1) * d);
      const zs = latentPath(a, b, frames, path);
      const event = c.flow.spec.event;
      const context = latents.context && { data: latents.context.data.subarray(0, frames * latents.context.shape[1]!), shape: [frames, latents.context.shape[1]!] };
      const x = await rt.decode({ data: zs, shape: [frames, ...event] }, context ? { context } : {});
      drawImages(strip, x.data, frames, event[1]!, event[2]!, frames, ZOOM, nonFinite(x.data, frames, event[1]! * event[2]!));
      app.hook.lastInterpolation = { model: latents.model, engine: rt.engine, frames, path, norms: Array.from({ length: frames }, (_, f) => norm(zs.subarray(f * d, (f + 1) * d))) };
    });

  grid.addEventListener('click', (e) => {
    if (!latents) return;
    const k = cellAt(grid, e, latents.h, latents.w, COLUMNS, ZOOM);
    if (k === undefined || k >= N) return;
    ends = e.shiftKey ? [ends[0], k] : [k, ends[1]];
    endsText();
  });
  temperature.addEventListener('input', () => ($('temperature-value').textContent = Number(temperature.value).toFixed(2)));
  // Once a grid is shown, changing what it depends on redraws it.
  const resample = () => latents && void sample();
  temperature.addEventListener('change', resample);
  model.addEventListener('change', () => void showClasses().then(resample));
  klass.addEventListener('change', resample);
  $('sample-run').addEventListener('click', () => void sample());
  $('interp-run').addEventListener('click', () => void interpolate());
  void showClasses().catch((e) => app.error('loading the class names', e));
}
