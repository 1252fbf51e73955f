import type { Host, Task } from './results.js';
import { BROWSER_ENGINES, NODE_ENGINES } from './engines.js';
import { FULL_TIMING, QUICK_TIMING, type TimingOptions } from './timing.js';

/** Everything a run does, decided before it starts. */
export interface BenchPlan {
  mode: 'quick' | 'full';
  /** Engines per host, in run order. */
  engines: Record<Host, string[]>;
  /** Engines of the bench's list that this run leaves out, and why (reported as skipped). */
  deselected: { host: Host; engine: string; reason: string }[];
  presets: string[];
  batches: number[];
  tasks: Task[];
  browser: boolean;
  chromium?: string;
  timing: TimingOptions;
  /** A call predicted (from a smaller batch) to take longer than this is not timed; the report says so. */
  maxCallMs: number;
  /** Batch of the correctness check against the reference. */
  checkBatch: number;
  /** Base seed of every input. */
  seed: number;
  /** The GEMM probe: [m, k]·[k, k]. */
  gemm: { m: number; k: number; timing: TimingOptions };
  /** Per preset on one engine: past this its worker or browser is stopped, its cells fail, and the engine goes on with a fresh one. */
  presetTimeoutMs: number;
  /** The engine-listing and GEMM workers. */
  probeTimeoutMs: number;
  out: string;
}

/** The quick default: small presets on every available engine, ≤ 3 minutes on 2 cores. */
export const QUICK_PRESETS = ['nice-2d', 'maf-2d', 'nice-mnist'];
export const QUICK_BATCHES = [1, 64];
/**
 * The full run: every preset, MAF vs IAF at D = 784 included, except mintnet-fmnist (417 GFLOP
 * per sampled example: 100 fixed-point iterations in each of 40 blocks).
 */
export const FULL_PRESETS = [
  'nice-2d',
  'realnvp-2d',
  'maf-2d',
  'iaf-2d',
  'nsf-2d',
  'nsf-maf-2d',
  'gf-2d',
  'nice-mnist',
  'maf-784',
  'iaf-784',
  'realnvp-fmnist',
  'glow-fmnist-small',
  'glow-fmnist',
  'nsf-fmnist',
  'gf-784',
  'mintnet-fmnist-small',
];
export const FULL_BATCHES = [1, 16, 256];

export interface CliOptions {
  full?: boolean;
  engines?: string[];
  presets?: string[];
  batch?: number[];
  tasks?: Task[];
  browser?: boolean;
  chromium?: string;
  out?: string;
  checkBatch?: number;
  seed?: number;
  minTime?: number;
  maxTime?: number;
  minSamples?: number;
  warmup?: number;
}

export class PlanError extends Error {
  override name = 'PlanError';
}

/**
 * Engine selectors: `tfjs-wasm` means that engine in every host that has it;
 * `node/tfjs-wasm` or `chromium/tfjs-wasm` one host only.
 */
export function selectEngines(selectors: readonly string[] | undefined): { engines: Record<Host, string[]>; deselected: BenchPlan['deselected'] } {
  const all: Record<Host, readonly string[]> = { node: NODE_ENGINES, chromium: BROWSER_ENGINES };
  if (!selectors || selectors.length === 0) return { engines: { node: [...NODE_ENGINES], chromium: [...BROWSER_ENGINES] }, deselected: [] };
  const chosen: Record<Host, Set<string>> = { node: new Set(), chromium: new Set() };
  for (const s of selectors) {
    const [host, name] = s.includes('/') ? (s.split('/', 2) as [string, string]) : [undefined, s];
    if (host !== undefined && host !== 'node' && host !== 'chromium') throw new PlanError(`--engines: '${s}': the host must be 'node' or 'chromium'`);
    const hosts: Host[] = host ? [host as Host] : ['node', 'chromium'];
    const hits = hosts.filter((h) => all[h].includes(name));
    if (!hits.length) {
      throw new PlanError(`--engines: unknown engine '${s}'; node engines: ${NODE_ENGINES.join(', ')}; browser engines: ${BROWSER_ENGINES.join(', ')} (prefix with node/ or chromium/ to pick one host)`);
    }
    for (const h of hits) chosen[h].add(name);
  }
  const deselected: BenchPlan['deselected'] = [];
  const engines = { node: [] as string[], chromium: [] as string[] };
  for (const h of ['node', 'chromium'] as Host[]) {
    for (const e of all[h]) {
      if (chosen[h].has(e)) engines[h].push(e);
      else deselected.push({ host: h, engine: e, reason: 'not selected (--engines)' });
    }
  }
  return { engines, deselected };
}

export function timestampFolder(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

export function makePlan(o: CliOptions, now: Date, baseDir: string): BenchPlan {
  const mode = o.full ? 'full' : 'quick';
  const base = mode === 'full' ? FULL_TIMING : QUICK_TIMING;
  const timing: TimingOptions = {
    ...base,
    ...(o.warmup !== undefined ? { warmupMinMs: o.warmup } : {}),
    rule: {
      ...base.rule,
      ...(o.minTime !== undefined ? { minTimeMs: o.minTime } : {}),
      ...(o.maxTime !== undefined ? { maxTimeMs: o.maxTime, hardMaxTimeMs: Math.max(o.maxTime, Math.min(base.rule.hardMaxTimeMs, 4 * o.maxTime)) } : {}),
      ...(o.minSamples !== undefined ? { minSamples: o.minSamples, minSamplesAtCap: Math.min(base.rule.minSamplesAtCap, o.minSamples) } : {}),
    },
  };
  if (timing.rule.minTimeMs > timing.rule.maxTimeMs) throw new PlanError(`--min-time ${timing.rule.minTimeMs} ms is above --max-time ${timing.rule.maxTimeMs} ms`);
  const { engines, deselected } = selectEngines(o.engines);
  const browser = o.browser !== false;
  if (!browser) {
    for (const e of engines.chromium) deselected.push({ host: 'chromium', engine: e, reason: 'browser engines turned off (--no-browser)' });
    engines.chromium = [];
  }
  const batches = [...new Set(o.batch ?? (mode === 'full' ? FULL_BATCHES : QUICK_BATCHES))].sort((a, b) => a - b);
  return {
    mode,
    engines,
    deselected,
    presets: o.presets ?? (mode === 'full' ? FULL_PRESETS : QUICK_PRESETS),
    batches,
    tasks: o.tasks ?? ['logProb', 'sample'],
    browser,
    ...(o.chromium ? { chromium: o.chromium } : {}),
    timing,
    maxCallMs: mode === 'full' ? 20_000 : 2_000,
    checkBatch: o.checkBatch ?? 4,
    seed: o.seed ?? 1,
    gemm: { m: 512, k: 1024, timing: { ...timing, rule: { ...timing.rule, maxTimeMs: Math.min(timing.rule.maxTimeMs, 2000) } } },
    presetTimeoutMs: mode === 'full' ? 1_800_000 : 120_000,
    probeTimeoutMs: 180_000,
    out: o.out ?? `${baseDir}/bench-results/${timestampFolder(now)}`,
  };
}
