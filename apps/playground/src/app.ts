import { openRuntime, type FlowRuntime } from '@bijective/core';
import { fetchCheckpoint, type FetchedCheckpoint } from './checkpoint.js';
import type { BrowserEngine } from './engines.js';

/** What the page exposes as `window.__playground`, for tests and for curious users in the console. */
export interface PlaygroundHook {
  /** True once the engine list is shown and every panel is wired. */
  ready: boolean;
  engines: BrowserEngine[];
  defaultEngine: string | undefined;
  defaultTrainer: string | undefined;
  /** Tasks running now. */
  busy: number;
  /** Every error the page has shown. */
  errors: string[];
  /** The last grid: finite pixel range, images with a non-finite pixel, and every pixel (`[n, C, H, W]` row-major). */
  lastSample?: { model: string; engine: string; n: number; temperature: number; seed: number; min: number; max: number; ms: number; nonFinite: number; pixels: number[] };
  lastInterpolation?: { model: string; engine: string; frames: number; path: string; norms: number[] };
  /** The last live training run: loss per step (nats), steps done, ms until the first step ended (gradient program compiled) and in all. */
  training: { state: 'idle' | 'running' | 'done' | 'stopped' | 'error'; engine?: string; preset?: string; losses: number[]; steps: number; firstStepMs?: number; ms?: number };
  /** The last attribute edit: classes, the direction's norm, max |frame 0 − image| and mean |last frame − frame 0| per pixel. */
  lastEdit?: { engine: string; from: number; to: number; perClass: number; directionNorm: number; reconstructionError: number; meanChange: number };
  /** Points in the live-training dataset (drawn ones included). */
  dataPoints: number;
  bench: BenchRow[];
}

export interface BenchRow {
  engine: string;
  /** Median milliseconds per call, by `logProb@1`, `logProb@64`, `sample@1`, `sample@64`; absent when the cell failed. */
  ms: Record<string, number>;
  error?: string;
}

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: the page has no element #${id}`);
  return el as T;
};

export function option(select: HTMLSelectElement, value: string, label = value, disabled = false): void {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label;
  o.disabled = disabled;
  select.append(o);
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  if (typeof e === 'object' && e !== null && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}

/** Page state shared by the panels: status line, errors, checkpoints and runtimes (cached). */
export class App {
  readonly hook: PlaygroundHook = { ready: false, engines: [], defaultEngine: undefined, defaultTrainer: undefined, busy: 0, errors: [], training: { state: 'idle', losses: [], steps: 0 }, dataPoints: 0, bench: [] };
  private readonly checkpoints = new Map<string, Promise<FetchedCheckpoint>>();
  private readonly runtimes = new Map<string, Promise<FlowRuntime>>();
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly baseUrl: string) {}

  status(text: string): void {
    const el = $('status');
    el.textContent = text;
    el.classList.toggle('busy', this.hook.busy > 0);
  }

  /** Shows an error in the page (and keeps it in the hook); `where` names what was being done. */
  error(where: string, e: unknown): void {
    const text = `${where}: ${describe(e)}`;
    this.hook.errors.push(text);
    const line = document.createElement('div');
    line.textContent = text;
    $('errors').append(line);
    console.error(text, e);
  }

  /**
   * Runs a task with its progress on the status line and any error shown in the page. Tasks run
   * one at a time, in the order asked: tfjs has one global backend, and a sample on one tfjs
   * engine must not switch it under a training step on another.
   */
  task<T>(label: string, fn: (progress: (text: string) => void) => Promise<T>): Promise<T | undefined> {
    this.hook.busy++;
    if (this.hook.busy > 1) this.status(`${label}: waiting for the running task to finish`);
    const run = async (): Promise<T | undefined> => {
      const start = performance.now();
      this.status(`${label}…`);
      try {
        const out = await fn((text) => this.status(`${label}: ${text}`));
        this.hook.busy--;
        this.status(`${label}: done in ${((performance.now() - start) / 1000).toFixed(2)} s`);
        return out;
      } catch (e) {
        this.hook.busy--;
        this.error(label, e);
        this.status(`${label}: failed (see the error above)`);
        return undefined;
      }
    };
    const result = this.queue.then(run);
    this.queue = result.then(() => undefined);
    return result;
  }

  checkpoint(name: string): Promise<FetchedCheckpoint> {
    let c = this.checkpoints.get(name);
    if (!c) {
      c = fetchCheckpoint(new URL('checkpoints/', this.baseUrl).href, name);
      this.checkpoints.set(name, c);
      c.catch(() => this.checkpoints.delete(name));
    }
    return c;
  }

  /** A runtime of the shipped checkpoint `name` on `engine`, opened once. */
  runtime(name: string, engine: string): Promise<FlowRuntime> {
    const key = `${name}@${engine}`;
    let r = this.runtimes.get(key);
    if (!r) {
      r = this.checkpoint(name).then((c) => openRuntime(c.flow, engine));
      this.runtimes.set(key, r);
      r.catch(() => this.runtimes.delete(key));
    }
    return r;
  }
}
