import { Rng, type FlowRuntime } from '@bijective/core';
import { $, option, type App, type BenchRow } from '../app.js';
import type { BrowserEngine } from '../engines.js';
import type { CheckpointEntry } from '../../assets-plugin.js';

const CELLS = [
  ['logProb', 1],
  ['logProb', 64],
  ['sample', 1],
  ['sample', 64],
] as const;
const MIN_REPS = 5;
const BUDGET_MS = 300;

/** Median ms of `fn` after one warm-up call: at least {@link MIN_REPS} calls, more while under {@link BUDGET_MS}. */
async function time(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const ms: number[] = [];
  const start = performance.now();
  while (ms.length < MIN_REPS || (performance.now() - start < BUDGET_MS && ms.length < 200)) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const mid = ms.length >> 1;
  return ms.length % 2 ? ms[mid]! : (ms[mid - 1]! + ms[mid]!) / 2;
}

function cellFn(rt: FlowRuntime, what: 'logProb' | 'sample', n: number): () => Promise<unknown> {
  const rng = new Rng(n);
  const x = { data: Float32Array.from({ length: n * 2 }, () => rng.normal()), shape: [n, 2] };
  return what === 'logProb' ? () => rt.logProb(x) : () => rt.sample({ n, seed: 0 });
}

/**
 * (d) logProb and sample times of every available engine on a shipped 2-D flow, batch 1 and
 * 64; the fastest at logProb ×64 can be made the page's engine.
 */
export function benchPanel(app: App, models: readonly CheckpointEntry[], engines: readonly BrowserEngine[], useEngine: (e: string) => void): void {
  const model = $<HTMLSelectElement>('bench-model');
  const body = $('bench').querySelector('tbody')!;
  const useBtn = $<HTMLButtonElement>('bench-use');
  const picks = $('bench-engines');
  for (const e of engines.filter((s) => s.available)) {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = e.engine;
    box.checked = !e.software;
    label.append(box, ` ${e.engine}`);
    picks.append(label, ' ');
  }
  for (const m of models) option(model, m.name);
  if (models.some((m) => m.name === 'realnvp-2d')) model.value = 'realnvp-2d';
  let fastest: string | undefined;

  const render = (rows: readonly BenchRow[]) => {
    const best = rows.filter((r) => r.ms['logProb@64'] !== undefined).sort((a, b) => a.ms['logProb@64']! - b.ms['logProb@64']!)[0];
    fastest = best?.engine;
    body.replaceChildren(
      ...rows.map((r) => {
        const tr = document.createElement('tr');
        if (r.engine === fastest) tr.className = 'best';
        const cells = [r.engine, ...CELLS.map(([w, n]) => r.ms[`${w}@${n}`]?.toFixed(2) ?? (r.error ? 'failed' : '…'))];
        cells.forEach((text, i) => {
          const td = document.createElement('td');
          td.textContent = text;
          if (i > 0) td.className = 'num';
          if (r.error && i > 0) td.title = r.error;
          tr.append(td);
        });
        return tr;
      }),
    );
    useBtn.disabled = fastest === undefined;
    useBtn.textContent = fastest ? `Use the fastest (${fastest})` : 'Use the fastest';
  };

  const run = () =>
    app.task(`bench of ${model.value}`, async (progress) => {
      const rows: BenchRow[] = (app.hook.bench = []);
      const chosen = Array.from(picks.querySelectorAll<HTMLInputElement>('input:checked'), (b) => b.value);
      if (chosen.length === 0) throw new Error('tick at least one engine to bench');
      for (const engine of chosen) {
        const row: BenchRow = { engine, ms: {} };
        rows.push(row);
        render(rows);
        try {
          progress(`${engine}: starting`);
          const rt = await app.runtime(model.value, engine);
          for (const [what, n] of CELLS) {
            progress(`${engine}: ${what} ×${n}`);
            row.ms[`${what}@${n}`] = await time(cellFn(rt, what, n));
            render(rows);
          }
        } catch (err) {
          row.error = (err as Error).message;
          app.error(`bench on ${engine}`, err);
        }
        render(rows);
      }
    });

  $('bench-run').addEventListener('click', () => void run());
  useBtn.addEventListener('click', () => fastest && useEngine(fastest));
}
