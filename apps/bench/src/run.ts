import { performance } from 'node:perf_hooks';
import { CHROMIUM_INSTALL, ChromiumPage, findChromium, type PageEnvironment } from './browser/driver.js';
import { bundlePage, startServer, type BenchServer } from './browser/server.js';
import { isSoftwareRenderer } from './browser/software.js';
import { compareWithReference, toleranceFor } from './check.js';
import { resolveAvailability, type Availability } from './engines.js';
import { gemmFlops } from './gemm.js';
import { errorMessage, type EngineJob, type HostEvent, type PresetJob } from './host.js';
import { engineVersions, loadAverageNow, machineInfo } from './node/machine.js';
import { WorkerError, runWorker } from './node/pool.js';
import { NODE_MEMORY_KIND } from './node/worker.js';
import type { BenchPlan } from './plan.js';
import { deriveMetrics } from './report/analysis.js';
import { formatGflops, formatMs } from './report/format.js';
import { RESULTS_SCHEMA, engineId, type BenchResults, type CheckResult, type EngineResult, type GemmPeak, type Host, type MeasurementResult, type Task } from './results.js';
import { headerLine, measurementLine, type Log } from './terminal.js';
import { loadWorkload, planCheck, referenceLatent, type CheckPlan, type Workload } from './workload.js';

const firstLine = (s: string) => s.split('\n')[0]!;
const cellKey = (preset: string, task: Task) => `${preset}\u0000${task}`;

/** The software-GPU caveat printed next to WebGPU/WebGL rows. */
function gpuNote(engine: string, env: PageEnvironment | undefined): string | undefined {
  if (!env) return undefined;
  if (engine.endsWith('webgpu') && env.webgpu?.software) {
    const a = env.webgpu;
    return `WebGPU here is a software adapter (${[a.vendor, a.architecture].filter(Boolean).join(' ')}${a.isFallbackAdapter ? ', isFallbackAdapter' : ''}: SwiftShader runs on the CPU), so these rows do not measure a GPU`;
  }
  if (engine === 'tfjs-webgl' && env.webgl && isSoftwareRenderer(env.webgl)) {
    return `WebGL here is a software renderer (${env.webgl}), so these rows do not measure a GPU`;
  }
  return undefined;
}

/** The work of one engine: its job and how many cells it will report. */
function jobFor(engine: string, plan: BenchPlan, workloads: Workload[], checks: Map<string, CheckPlan>): EngineJob {
  const presets: PresetJob[] = workloads.map((w) => ({
    preset: w.info.name,
    spec: w.flow.spec,
    domain: w.domain,
    seed: plan.seed,
    checks: plan.tasks.map((task) => {
      const c = checks.get(cellKey(w.info.name, task))!;
      return { task, batch: c.batch, input: { data: Array.from(c.input.data), shape: c.input.shape } };
    }),
    cases: plan.tasks.flatMap((task) => plan.batches.map((batch) => ({ task, batch }))),
  }));
  return { engine, presets, timing: plan.timing, maxCallMs: plan.maxCallMs };
}

/** Collects events of every engine into the results, printing each measured cell. */
class Collector {
  readonly checks: CheckResult[] = [];
  readonly measurements: MeasurementResult[] = [];
  private done = 0;

  constructor(
    private readonly plan: BenchPlan,
    private readonly workloads: Map<string, Workload>,
    private readonly checkPlans: Map<string, CheckPlan>,
    private readonly gemmGflops: number | undefined,
    private total: number,
    private readonly log: Log,
  ) {}

  /** An engine expected to run turned out unavailable: its cells leave the progress count. */
  dropCells(n: number): void {
    this.total -= n;
  }

  private checkStatus(id: string, preset: string, task: Task): CheckResult['status'] | undefined {
    return this.checks.find((c) => c.engineId === id && c.preset === preset && c.task === task)?.status;
  }

  private add(m: MeasurementResult): void {
    this.measurements.push(m);
    this.done++;
    this.log.line(measurementLine(m, this.done, this.total));
  }

  /** Every cell of `preset` (or of every preset) this engine has not reported yet becomes an error row. */
  failRemaining(host: Host, engine: string, why: string, preset?: string): void {
    const id = engineId(host, engine);
    for (const w of this.workloads.values()) {
      if (preset !== undefined && w.info.name !== preset) continue;
      for (const task of this.plan.tasks) {
        for (const batch of this.plan.batches) {
          if (this.measurements.some((m) => m.engineId === id && m.preset === w.info.name && m.task === task && m.batch === batch)) continue;
          this.add({ engineId: id, engine, host, preset: w.info.name, task, batch, status: 'error', error: why });
        }
      }
    }
  }

  handle(host: Host, engine: string, e: HostEvent): void {
    const id = engineId(host, engine);
    if (e.type === 'done') return;
    if (e.type === 'runtime') {
      if (e.error !== undefined) {
        if (e.preset === '*') this.failRemaining(host, engine, e.error);
        else this.failRemaining(host, engine, `runtime could not be created: ${e.error}`, e.preset);
      } else {
        this.log.line(`  ${id}: ${e.preset} runtime ready in ${formatMs(e.setupMs)}`);
      }
      return;
    }
    const w = this.workloads.get(e.preset);
    if (!w) return;
    if (e.type === 'check') {
      const base = { engineId: id, preset: e.preset, task: e.task, batch: e.batch, ...(e.coldMs !== undefined ? { coldMs: e.coldMs } : {}) };
      const p = this.checkPlans.get(cellKey(e.preset, e.task))!;
      const how = { compared: p.compared, tolerance: toleranceFor(e.task, p.mode) };
      let c: CheckResult;
      if (e.error !== undefined || !e.output) c = { ...base, ...how, status: 'error', message: e.error ?? 'no output' };
      else if (p.mode === 'direct') c = compareWithReference(base, e.output, p.expected!, how);
      else {
        // The engine's sample x is right iff the reference maps it back to the noise it was given.
        const z = e.output.length === p.input.data.length ? referenceLatent(w, e.output, e.batch) : Float64Array.from(e.output);
        c = compareWithReference(base, z, p.input.data, how);
      }
      this.checks.push(c);
      if (c.status !== 'pass') this.log.line(`  ${id}: ${e.preset} ${e.task} check ${c.status.toUpperCase()}: ${c.message ?? ''}`);
      return;
    }
    const base = { engineId: id, engine, host, preset: e.preset, task: e.task, batch: e.batch };
    if (!e.timing) {
      this.add({ ...base, status: e.skipped ? 'skipped' : 'error', error: e.error ?? 'no timing' });
      return;
    }
    const check = this.checkStatus(id, e.preset, e.task);
    const metrics = deriveMetrics(e.timing.medianMs, e.batch, w.info.flops[e.task].flops, this.gemmGflops);
    this.add({
      ...base,
      status: check === 'pass' ? 'ok' : check === 'wrong' ? 'wrong' : 'error',
      ...(check !== 'pass' && check !== 'wrong' ? { error: 'the correctness check could not be made' } : {}),
      timing: e.timing,
      ...metrics,
      ...(e.memory ? { memory: e.memory } : {}),
    });
  }
}

interface BrowserSetup {
  executable?: string;
  server?: BenchServer;
  env?: PageEnvironment;
  version?: string;
  /** Why no browser engine can run, when none can. */
  unavailable?: string;
}

/** Finds Chromium, bundles the page, starts the server and reads the page's environment (GPU adapter, WebGL renderer). */
async function startBrowser(plan: BenchPlan, workloads: Map<string, Workload>, log: Log): Promise<BrowserSetup> {
  if (!plan.engines.chromium.length) return {};
  const executable = findChromium(plan.chromium);
  if (!executable) {
    return { unavailable: plan.chromium ? `no Chromium at ${plan.chromium} (--chromium)` : `Chromium not found; install it: ${CHROMIUM_INSTALL}` };
  }
  let server: BenchServer | undefined;
  try {
    const t0 = performance.now();
    server = await startServer(await bundlePage(), (preset) => workloads.get(preset)?.weightsFile());
    const page = await ChromiumPage.open(executable, server);
    try {
      const env = await page.environment();
      const version = page.version;
      log.line(`Chromium ${version} (${executable}) ready in ${formatMs(performance.now() - t0)}; WebGPU: ${env.webgpu ? `${env.webgpu.vendor} ${env.webgpu.architecture}${env.webgpu.software ? ' (software)' : ''}` : env.webgpuUnavailable}`);
      return { executable, server, env, version };
    } finally {
      await page.close();
    }
  } catch (e) {
    await server?.close();
    return { unavailable: `Chromium (${executable}) could not be started: ${errorMessage(e)}` };
  }
}

/** Runs the whole plan and returns the results (the caller writes the report). */
export async function runBench(plan: BenchPlan, log: Log, command: string): Promise<BenchResults> {
  const started = new Date();
  const t0 = performance.now();
  const notes: string[] = [];
  const machine = machineInfo();
  log.line(`bijective bench (${plan.mode}): ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`);

  const workloads = new Map<string, Workload>();
  for (const name of plan.presets) {
    const w = await loadWorkload(name);
    workloads.set(name, w);
    log.line(
      `  preset ${name}: D = ${w.info.dim}, ${w.info.params} parameters, ${w.info.weights.source === 'checkpoint' ? 'trained checkpoint' : 'seeded initial weights'}; ` +
        `${(w.info.flops.logProb.flops / 1e6).toPrecision(3)} MFLOP/example logProb, ${(w.info.flops.sample.flops / 1e6).toPrecision(3)} sample`,
    );
  }

  const checkPlans = new Map<string, CheckPlan>();
  for (const w of workloads.values()) {
    for (const task of plan.tasks) {
      const c = await planCheck(w, task, plan.checkBatch, plan.seed);
      checkPlans.set(cellKey(w.info.name, task), c);
      if (c.referenceMs > 2000 || c.mode === 'inverse' || c.batch < plan.checkBatch) {
        log.line(`  reference ${w.info.name} ${task}: batch ${c.batch}, ${c.mode === 'inverse' ? 'checked by inversion (the density pass maps the sample back to its noise)' : formatMs(c.referenceMs)}`);
      }
    }
  }

  const nodeListed = await listEnginesInWorker(plan.engineTimeoutMs);
  const nodeAvail = resolveAvailability(plan.engines.node, nodeListed, 'Node');
  const browser = await startBrowser(plan, workloads, log);
  // Browser engines are probed in their own page when their turn comes.
  const browserAvail: Availability[] = plan.engines.chromium.map((engine) =>
    browser.unavailable ? { engine, available: false, reason: browser.unavailable } : { engine, available: true },
  );
  if (browser.env) machine.browser = browserInfo(browser);

  // The roofline reference, whether or not ort-node-cpu itself is benched.
  let gemm: BenchResults['gemm'] = { skipped: 'ort-node-cpu is not available' };
  const ortCpu = nodeListed.find((a) => a.engine === 'ort-node-cpu');
  if (ortCpu?.available) {
    try {
      gemm = await measureGemm(plan);
      log.line(`GEMM peak (ort-node-cpu, [${plan.gemm.m}×${plan.gemm.k}]·[${plan.gemm.k}×${plan.gemm.k}]): ${formatGflops(gemm.gflops)} GFLOP/s`);
    } catch (e) {
      gemm = { skipped: `the GEMM probe failed: ${errorMessage(e)}` };
    }
  } else if (ortCpu) gemm = { skipped: `ort-node-cpu is not available: ${ortCpu.reason}` };
  const gemmGflops = 'gflops' in gemm ? gemm.gflops : undefined;

  const runnable = [...nodeAvail.filter((a) => a.available).map((a) => ['node', a] as const), ...browserAvail.filter((a) => a.available).map((a) => ['chromium', a] as const)];
  const cellsPerEngine = workloads.size * plan.tasks.length * plan.batches.length;
  const collector = new Collector(plan, workloads, checkPlans, gemmGflops, runnable.length * cellsPerEngine, log);
  const engines: EngineResult[] = [];
  for (const [host, avail] of [...nodeAvail.map((a) => ['node', a] as const), ...browserAvail.map((a) => ['chromium', a] as const)]) {
    if (!avail.available) {
      engines.push({ id: engineId(host, avail.engine), engine: avail.engine, host, status: 'skipped', reason: avail.reason ?? 'not available', ...(avail.install ? { install: avail.install } : {}), versions: engineVersions(avail.engine, host) });
      log.line(`skip ${engineId(host, avail.engine)}: ${firstLine(avail.reason ?? '')}`);
    }
  }
  for (const d of plan.deselected) engines.push({ id: engineId(d.host, d.engine), engine: d.engine, host: d.host, status: 'skipped', reason: d.reason, versions: {} });

  log.line('');
  log.line(headerLine());
  try {
    for (const [host, avail] of runnable) {
      const id = engineId(host, avail.engine);
      const note = host === 'chromium' ? gpuNote(avail.engine, browser.env) : undefined;
      const result: EngineResult = {
        id,
        engine: avail.engine,
        host,
        status: 'ran',
        ...(avail.detail ? { detail: avail.detail } : {}),
        versions: { ...engineVersions(avail.engine, host), ...(host === 'chromium' && browser.version ? { chromium: browser.version } : {}) },
        ...(note ? { note } : {}),
        memoryKind: host === 'node' ? NODE_MEMORY_KIND : (browser.env?.memoryKind ?? ''),
      };
      const job = jobFor(avail.engine, plan, [...workloads.values()], checkPlans);
      const onEvent = (e: HostEvent) => collector.handle(host, avail.engine, e);
      let page: ChromiumPage | undefined;
      try {
        if (host === 'node') {
          engines.push(result);
          log.line(`— ${id}${avail.detail ? ` (${avail.detail})` : ''}`);
          const params = Object.fromEntries([...workloads.values()].map((w) => [w.info.name, w.flow.params]));
          const { maxRssBytes } = await runWorker({ type: 'run', job, params }, (r) => (r.type === 'exit' || r.type === 'gemm' || r.type === 'list' ? undefined : onEvent(r)), plan.engineTimeoutMs);
          if (maxRssBytes !== undefined) result.processPeakRssBytes = maxRssBytes;
        } else {
          page = await ChromiumPage.open(browser.executable!, browser.server!);
          const status = await page.probe(avail.engine);
          if (!status.available) {
            engines.push({ id, engine: avail.engine, host, status: 'skipped', reason: status.reason ?? 'not available', versions: result.versions });
            log.line(`skip ${id}: ${firstLine(status.reason ?? '')}`);
            collector.dropCells(cellsPerEngine);
            continue;
          }
          if (status.detail) result.detail = status.detail;
          engines.push(result);
          log.line(`— ${id}${status.detail ? ` (${status.detail})` : ''}${note ? ` †${note}` : ''}`);
          const { memoryKind } = await page.run(job, plan.engineTimeoutMs, onEvent);
          if (memoryKind) result.memoryKind = memoryKind;
        }
      } catch (e) {
        const why = `${host === 'node' ? 'worker' : 'page'} failed: ${e instanceof WorkerError ? e.message : errorMessage(e)}`;
        result.status = 'failed';
        result.reason = why;
        log.line(`  ${id}: ${firstLine(why)}`);
        if (!engines.includes(result)) engines.push(result);
        collector.failRemaining(host, avail.engine, why);
      } finally {
        await page?.close();
      }
    }
  } finally {
    await browser.server?.close();
  }

  const finished = new Date();
  const load = machine.loadAverage!;
  load.end = loadAverageNow();
  if (Math.max(load.start, load.end) > machine.cores / 2) {
    notes.push(
      `The machine was busy: 1-minute load average ${load.start.toFixed(1)} at the start and ${load.end.toFixed(1)} at the end, on ${machine.cores} cores. ` +
        'Other work shares the CPU with the engines, so timings are noisier and slower than on an idle machine (see the p10–p90 ranges and stop reasons).',
    );
  }
  return {
    schema: RESULTS_SCHEMA,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationS: (performance.now() - t0) / 1000,
    command,
    options: {
      mode: plan.mode,
      engines: [...plan.engines.node.map((e) => engineId('node', e)), ...plan.engines.chromium.map((e) => engineId('chromium', e))],
      presets: plan.presets,
      batches: plan.batches,
      tasks: plan.tasks,
      browser: plan.browser,
      checkBatch: plan.checkBatch,
      timing: {
        warmupMinCalls: plan.timing.warmupMinCalls,
        warmupMinMs: plan.timing.warmupMinMs,
        minSampleMs: plan.timing.minSampleMs,
        ...plan.timing.rule,
        maxCallMs: plan.maxCallMs,
      },
    },
    machine,
    gemm,
    engines: order(engines),
    presets: [...workloads.values()].map((w) => w.info),
    checks: collector.checks,
    measurements: collector.measurements,
    notes,
  };
}

/** Engines in the bench's order: node first, then chromium, each in its list's order. */
function order(engines: EngineResult[]): EngineResult[] {
  const rank = (e: EngineResult) => (e.host === 'node' ? 0 : 100) + (e.status === 'ran' ? 0 : 50);
  return [...engines].sort((a, b) => rank(a) - rank(b));
}

function browserInfo(b: BrowserSetup): NonNullable<BenchResults['machine']['browser']> {
  const env = b.env!;
  return {
    name: 'Chromium',
    version: b.version!,
    executable: b.executable!,
    userAgent: env.userAgent,
    hardwareConcurrency: env.hardwareConcurrency,
    crossOriginIsolated: env.crossOriginIsolated,
    ...(env.webgpu ? { webgpu: env.webgpu } : { webgpuUnavailable: env.webgpuUnavailable ?? 'unavailable' }),
    ...(env.webgl ? { webgl: env.webgl, webglSoftware: isSoftwareRenderer(env.webgl) } : {}),
  };
}

/** The backends' engine lists, asked in a worker (loading every runtime, and native probes' stderr noise, stay out of this process). */
async function listEnginesInWorker(timeoutMs: number): Promise<Availability[]> {
  let engines: Availability[] | undefined;
  await runWorker({ type: 'list' }, (r) => void (r.type === 'list' && (engines = r.engines)), timeoutMs);
  if (!engines) throw new Error('the engine-listing worker sent no list');
  return engines;
}

async function measureGemm(plan: BenchPlan): Promise<GemmPeak> {
  let result: GemmPeak | undefined;
  let failure: string | undefined;
  await runWorker(
    { type: 'gemm', engine: 'ort-node-cpu', m: plan.gemm.m, k: plan.gemm.k, timing: plan.gemm.timing },
    (r) => {
      if (r.type !== 'gemm') return;
      if (r.error !== undefined || !r.timing) failure = r.error ?? 'no timing';
      else {
        const t = r.timing;
        result = {
          engine: 'ort-node-cpu',
          m: plan.gemm.m,
          k: plan.gemm.k,
          n: plan.gemm.k,
          medianMs: t.medianMs,
          p10Ms: t.p10Ms,
          p90Ms: t.p90Ms,
          gflops: gemmFlops(plan.gemm.m, plan.gemm.k) / (t.medianMs / 1000) / 1e9,
          samples: t.samples,
        };
      }
    },
    plan.engineTimeoutMs,
  );
  if (!result) throw new Error(failure ?? 'the GEMM worker sent no result');
  return result;
}
