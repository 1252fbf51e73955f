import { LOSS_OUTPUTS, Rng, createFlow, densityLossGraph, openGradients, trainFlow, type Flow, type GradientEngine, type GradientProgram } from '@bijective/core';
import { gaussianMixture2D, presets, toyGenerators } from '@bijective/models';
import { $, option, type App } from '../app.js';
import type { BrowserEngine } from '../engines.js';
import { PLANE, drawDensity, gridPoints, planeAt } from '../draw.js';

const POINTS = 2000;
const MIXTURE = gaussianMixture2D();
/** The 2-D presets this panel offers (any vector preset of @bijective/models trains here). */
const TRAIN_PRESETS = Object.values(presets).filter((p) => p.specForDim !== undefined && p.name.endsWith('-2d'));

/** `n` points `[n, 2]` of a named dataset: the exact Gaussian mixture or one of the toy densities. */
function datasetPoints(name: string, n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  if (name === 'mixture') return MIXTURE.sample(n, rng);
  const gen = toyGenerators[name];
  if (!gen) throw new RangeError(`unknown dataset '${name}'; known: mixture, ${Object.keys(toyGenerators).join(', ')}, drawn`);
  return gen(n, rng);
}

/** The loss curve: loss per step, y range from the data. */
function drawLoss(canvas: HTMLCanvasElement, losses: readonly number[]): void {
  const ctx = canvas.getContext('2d')!;
  const { width, height } = canvas;
  const m = { left: 44, right: 8, top: 10, bottom: 24 };
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = '#333';
  ctx.strokeRect(m.left, m.top, width - m.left - m.right, height - m.top - m.bottom);
  ctx.fillStyle = '#333';
  ctx.font = '11px sans-serif';
  ctx.textAlign = 'center';
  ctx.fillText('step', (m.left + width - m.right) / 2, height - 4);
  const finite = losses.filter(Number.isFinite);
  if (finite.length < 2) return;
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const span = hi - lo || 1;
  const x = (i: number) => m.left + (i / (losses.length - 1)) * (width - m.left - m.right);
  const y = (v: number) => m.top + ((hi - v) / span) * (height - m.top - m.bottom);
  ctx.textAlign = 'right';
  ctx.fillText(hi.toFixed(2), m.left - 4, m.top + 8);
  ctx.fillText(lo.toFixed(2), m.left - 4, height - m.bottom);
  ctx.textAlign = 'left';
  ctx.fillText(`loss (nats) · step ${losses.length}`, m.left + 6, m.top + 12);
  ctx.strokeStyle = '#2a6fdb';
  ctx.beginPath();
  losses.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
  ctx.stroke();
}

/**
 * (c) A 2-D flow trained in the page by core's trainer (`trainFlow`) on the chosen engine's
 * GradientEngine, on a dataset or on points the user draws; every `redraw` steps the density of
 * the current parameters is evaluated on a 64×64 grid (a forward-only program on the same engine)
 * and drawn, with the known mixture's true density beside it.
 */
export function trainPanel(app: App, engines: readonly BrowserEngine[], defaultTrainer: string | undefined): void {
  const presetSel = $<HTMLSelectElement>('train-preset');
  const dataSel = $<HTMLSelectElement>('train-data');
  const engineSel = $<HTMLSelectElement>('train-engine');
  const density = $<HTMLCanvasElement>('train-density');
  const lossCanvas = $<HTMLCanvasElement>('train-loss');
  const runBtn = $<HTMLButtonElement>('train-run');
  const stopBtn = $<HTMLButtonElement>('train-stop');
  for (const p of TRAIN_PRESETS) option(presetSel, p.name);
  presetSel.value = TRAIN_PRESETS.some((p) => p.name === 'realnvp-2d') ? 'realnvp-2d' : (TRAIN_PRESETS[0]?.name ?? '');
  for (const d of ['mixture', ...Object.keys(toyGenerators), 'drawn']) option(dataSel, d);
  for (const e of engines.filter((s) => s.trains)) option(engineSel, e.engine, e.available ? e.engine : `${e.engine} (not here)`, !e.available);
  if (defaultTrainer) engineSel.value = defaultTrainer;
  if (!defaultTrainer) runBtn.disabled = true;

  const grid = gridPoints(PLANE);
  const trueDensity = MIXTURE.logDensity(grid);
  let drawn: number[] = [];
  let points: Float64Array = datasetPoints('mixture', POINTS, 1);
  let controller: AbortController | undefined;

  const truth = $<HTMLCanvasElement>('train-true');
  drawDensity(truth, trueDensity, PLANE, undefined, 'true density of the mixture');
  const showData = () => {
    points = dataSel.value === 'drawn' ? Float64Array.from(drawn) : datasetPoints(dataSel.value, POINTS, 1);
    truth.hidden = dataSel.value !== 'mixture';
    app.hook.dataPoints = points.length / 2;
    drawDensity(density, undefined, PLANE, points, `${points.length / 2} training points`);
  };

  /** Adds 25 points around a click (σ = 0.15), so a few clicks make a trainable density. */
  const addPoints = (e: MouseEvent) => {
    if (dataSel.value !== 'drawn' || controller) return;
    const at = planeAt(density, e, PLANE);
    if (!at) return;
    const rng = new Rng(drawn.length + 7);
    for (let i = 0; i < 25; i++) drawn.push(at[0] + 0.15 * rng.normal(), at[1] + 0.15 * rng.normal());
    showData();
  };
  let dragging = false;
  density.addEventListener('mousedown', (e) => {
    dragging = true;
    addPoints(e);
  });
  density.addEventListener('mousemove', (e) => dragging && addPoints(e));
  window.addEventListener('mouseup', () => (dragging = false));
  dataSel.addEventListener('change', showData);
  $('train-clear').addEventListener('click', () => {
    drawn = [];
    showData();
  });

  async function heatmap(engine: GradientEngine, flow: Flow, program: GradientProgram | undefined): Promise<{ program: GradientProgram; logp: Float32Array | Float64Array }> {
    // Compiled after the data-dependent initialisation, so the traced graph is the trained one's.
    program ??= await engine.compile(densityLossGraph(flow), { loss: LOSS_OUTPUTS.loss, wrt: [], outputs: [LOSS_OUTPUTS.logProb] });
    const params = Object.fromEntries(Object.entries(flow.params).map(([n, p]) => [n, Float32Array.from(p.data)]));
    const { outputs } = await program.run({ x: { data: grid, shape: [grid.length / 2, 2] } }, params);
    return { program, logp: outputs[LOSS_OUTPUTS.logProb]! };
  }

  const train = () =>
    app.task(`training ${presetSel.value} on ${engineSel.value}`, async (progress) => {
      if (points.length < 4) throw new Error(`the drawn dataset has ${points.length / 2} point(s); click on the plot to add some (25 per click), or pick another dataset`);
      const preset = presets[presetSel.value]!;
      const engineName = engineSel.value;
      const steps = Math.max(1, Math.round(Number($<HTMLInputElement>('train-steps').value)));
      const batchSize = Math.max(1, Math.round(Number($<HTMLInputElement>('train-batch').value)));
      const lr = Number($<HTMLInputElement>('train-lr').value);
      const every = Math.max(1, Math.round(Number($<HTMLInputElement>('train-every').value)));
      const flow = createFlow(preset.spec(), { seed: 0 });
      const data = { data: Float32Array.from(points), shape: [points.length / 2, 2] };
      const losses: number[] = [];
      const training = (app.hook.training = { state: 'running', engine: engineName, preset: preset.name, losses, steps: 0 } as typeof app.hook.training);
      controller = new AbortController();
      runBtn.disabled = true;
      stopBtn.disabled = false;
      const t0 = performance.now();
      let program: GradientProgram | undefined;
      let lastYield = performance.now();
      try {
        progress('compiling the gradient program');
        const engine = await openGradients(engineName);
        let drawnAt = -1;
        const redraw = async (step: number) => {
          drawnAt = step;
          const h = await heatmap(engine, flow, program);
          program = h.program;
          drawDensity(density, h.logp, PLANE, points, `model density · step ${step}`);
          drawLoss(lossCanvas, losses);
        };
        const result = await trainFlow(engine, flow, data, {
          steps,
          batchSize: Math.min(batchSize, data.shape[0]!),
          lr,
          warmupSteps: Math.min(20, steps - 1),
          seed: 0,
          signal: controller.signal,
          onStep: async (p) => {
            if (p.kind !== 'step') return;
            losses.push(p.loss);
            training.steps = losses.length;
            training.firstStepMs ??= performance.now() - t0;
            if (losses.length % every === 0) {
              progress(`step ${losses.length}/${steps}, loss ${p.loss.toFixed(3)} nats, ${Math.round(p.examplesPerSecond)} examples/s`);
              await redraw(losses.length);
            }
            // Let the page repaint and take clicks (Stop) while training.
            if (performance.now() - lastYield > 40) {
              await new Promise((r) => setTimeout(r, 0));
              lastYield = performance.now();
            }
          },
        });
        if (drawnAt !== training.steps) await redraw(training.steps);
        training.state = result.stopped ? 'stopped' : 'done';
      } catch (e) {
        training.state = 'error';
        throw e;
      } finally {
        training.ms = performance.now() - t0;
        await program?.dispose();
        controller = undefined;
        runBtn.disabled = false;
        stopBtn.disabled = true;
      }
    });

  runBtn.addEventListener('click', () => void train());
  stopBtn.addEventListener('click', () => controller?.abort());
  showData();
  drawLoss(lossCanvas, []);
}
