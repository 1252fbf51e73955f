import '@bijective/backend-tfjs';
import '@bijective/backend-onnx/web';
import { checkpoints } from 'virtual:bijective-checkpoints';
import { $, App, option } from './app.js';
import { configureEngines, defaultEngine, defaultTrainer, probeEngines, type BrowserEngine } from './engines.js';
import { benchPanel } from './panels/bench.js';
import { editPanel } from './panels/edit.js';
import { samplePanel } from './panels/samples.js';
import { trainPanel } from './panels/train.js';

/**
 * The playground page: engines are probed one by one into the table, then every panel is
 * wired. `window.__playground` reports what happened (see {@link App.hook}).
 */
const app = new App(document.baseURI);
(window as unknown as { __playground: App['hook'] }).__playground = app.hook;
window.addEventListener('error', (e) => app.error('uncaught error', e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => app.error('unhandled rejection', e.reason));

function engineRow(e: BrowserEngine): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.engine = e.engine;
  if (!e.available) tr.className = 'unavailable';
  const why = e.available ? [e.detail, e.software].filter(Boolean).join('; ') : `${e.reason ?? 'not available'}${e.install ? ` (install: ${e.install})` : ''}`;
  for (const text of [e.engine, e.available ? 'yes' : 'no', e.trains ? 'yes' : 'no', why || '—']) {
    const td = document.createElement('td');
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}

async function start(): Promise<void> {
  configureEngines(document.baseURI);
  const engines =
    (await app.task('probing engines', async (progress) =>
      probeEngines((e) => {
        progress(`${e.engine}: ${e.available ? 'available' : 'not available'}`);
        $('engines').querySelector('tbody')!.append(engineRow(e));
      }),
    )) ?? [];
  const select = $<HTMLSelectElement>('engine');
  for (const e of engines) option(select, e.engine, e.available ? e.engine : `${e.engine} (not here)`, !e.available);
  const chosen = defaultEngine(engines);
  if (chosen) select.value = chosen;
  $('engine-note').textContent = chosen
    ? `default ${chosen}: the first available of ort-web-webgpu, tfjs-webgpu, tfjs-webgl, ort-web-wasm, tfjs-wasm, tfjs-cpu, reference (software GPU adapters skipped); the mini-bench can pick the fastest`
    : 'no engine runs in this browser';
  const trainer = defaultTrainer(engines);
  Object.assign(app.hook, { engines, defaultEngine: chosen, defaultTrainer: trainer });

  const images = checkpoints.filter((c) => c.event.length === 3);
  const vectors = checkpoints.filter((c) => c.event.length === 1 && c.event[0] === 2);
  samplePanel(app, images, () => select.value);
  editPanel(app, checkpoints.map((c) => c.name), () => select.value);
  trainPanel(app, engines, trainer);
  benchPanel(app, vectors, engines, (e) => {
    select.value = e;
    $('engine-note').textContent = `${e}: the fastest at logProb ×64 in the mini-bench`;
  });
  app.hook.ready = true;
  app.status(`ready: ${engines.filter((e) => e.available).length} of ${engines.length} engines run here; default ${chosen ?? 'none'}`);
}

void start().catch((e) => app.error('starting the playground', e));
