import { performance } from 'node:perf_hooks';
import { ChromiumPage } from './browser/driver.js';
import { browserInfo, gpuNote, startBrowser } from './browser/setup.js';
import { Collector, cellKey } from './collector.js';
import { resolveAvailability, type Availability } from './engines.js';
import { errorMessage, type HostEvent } from './host.js';
import { engineVersions, loadAverageNow, machineInfo } from './node/machine.js';
import { WorkerError, runWorker } from './node/pool.js';
import { probeNode } from './node/probes.js';
import { runEngine } from './watchdog.js';
import { NODE_MEMORY_KIND } from './node/worker.js';
import type { BenchPlan } from './plan.js';
import { formatGflops, formatMs } from './report/format.js';
import { RESULTS_SCHEMA, engineId, type BenchResults, type EngineResult } from './results.js';
import { headerLine, type Log } from './terminal.js';
import { cannotTrain, jobFor } from './jobs.js';
import { loadWorkload, planCheck, type CheckPlan, type Workload } from './workload.js';

const firstLine = (s: string) => s.split('\n')[0]!;

/** Runs the whole plan and returns the results (the caller writes the report). */
/**
 * Runs the plan. `stop` (Ctrl-C) ends it early: the engine running is stopped, the engines
 * after it are listed as skipped, and the results hold every cell measured so far, with a
 * note saying the run was interrupted.
 */
export async function runBench(plan: BenchPlan, log: Log, command: string, stop?: AbortSignal): Promise<BenchResults> {
  const started = new Date();
  const t0 = performance.now();
  const notes: string[] = [];
  const machine = machineInfo();
  log.line(`bijective bench (${plan.mode}): ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}`);

  const workloads = new Map<string, Workload>();
  for (const name of plan.presets) {
    const w = await loadWorkload(name, { train: plan.tasks.includes('train') });
    workloads.set(name, w);
    const train = w.info.flops.train;
    log.line(
      `  preset ${name}: D = ${w.info.dim}, ${w.info.params} parameters, ${w.info.weights.source === 'checkpoint' ? 'trained checkpoint' : 'seeded initial weights'}; ` +
        `${(w.info.flops.logProb.flops / 1e6).toPrecision(3)} MFLOP/example logProb, ${(w.info.flops.sample.flops / 1e6).toPrecision(3)} sample` +
        (train ? `, ${(train.flops / 1e6).toPrecision(3)} train step` : ''),
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

  const probe = await probeNode(plan);
  const nodeListed = probe.engines;
  const gemm = probe.gemm;
  if ('gflops' in gemm) {
    log.line(`GEMM peak (ort-node-cpu, [${gemm.m}×${gemm.k}]·[${gemm.k}×${gemm.n}]): ${formatGflops(gemm.gflops)} GFLOP/s (fastest sample; median ${formatGflops(gemm.medianGflops)})`);
  } else log.line(`GEMM peak not measured: ${gemm.skipped}`);
  const nodeAvail = resolveAvailability(plan.engines.node, nodeListed, 'Node');
  const browser = await startBrowser(plan, workloads, log);
  // Browser engines are probed in their own page when their turn comes.
  const browserAvail: Availability[] = plan.engines.chromium.map((engine) =>
    browser.unavailable ? { engine, available: false, reason: browser.unavailable } : { engine, available: true },
  );
  if (browser.env) machine.browser = browserInfo(browser);

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
  let interruptedAt: string | undefined;
  try {
    for (const [host, avail] of runnable) {
      const id = engineId(host, avail.engine);
      if (stop?.aborted) {
        engines.push({ id, engine: avail.engine, host, status: 'skipped', reason: 'not run: the bench was interrupted before this engine', versions: engineVersions(avail.engine, host) });
        collector.dropCells(cellsPerEngine);
        continue;
      }
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
      const onEvent = (e: HostEvent) => collector.handle(host, avail.engine, e);
      try {
        let probed: ChromiumPage | undefined;
        let trainStatus: { engine: string; trains?: boolean } = avail;
        if (host === 'chromium') {
          // The engine's own check, in the page that will run it: an engine it cannot start is skipped.
          probed = await ChromiumPage.open(browser.executable!, browser.server!);
          const status = await probed.probe(avail.engine).catch(async (e: unknown) => {
            await probed!.close();
            throw e;
          });
          if (!status.available) {
            await probed.close();
            engines.push({ id, engine: avail.engine, host, status: 'skipped', reason: status.reason ?? 'not available', versions: result.versions });
            log.line(`skip ${id}: ${firstLine(status.reason ?? '')}`);
            collector.dropCells(cellsPerEngine);
            continue;
          }
          if (status.detail) result.detail = status.detail;
          trainStatus = status;
        }
        // An engine that cannot train: its train cells are skipped with the reason, the other tasks run.
        const noTrain = plan.tasks.includes('train') ? cannotTrain(trainStatus) : undefined;
        const job = jobFor(avail.engine, noTrain ? plan.tasks.filter((t) => t !== 'train') : plan.tasks, plan, [...workloads.values()], checkPlans);
        engines.push(result);
        log.line(`— ${id}${result.detail ? ` (${result.detail})` : ''}${note ? ` †${note}` : ''}`);
        if (noTrain) collector.skipTask(host, avail.engine, 'train', noTrain);
        if (job.presets.every((p) => p.cases.length === 0)) {
          await probed?.close();
          continue;
        }
        const outcome = await runEngine(job, onEvent, async (part, events, signal) => {
          if (host === 'node') {
            const params = Object.fromEntries([...workloads.values()].map((w) => [w.info.name, w.flow.params]));
            const { maxRssBytes } = await runWorker({ type: 'run', job: part, params }, (r) => (r.type === 'exit' || r.type === 'gemm' || r.type === 'list' ? undefined : events(r)), signal);
            if (maxRssBytes !== undefined) result.processPeakRssBytes = Math.max(result.processPeakRssBytes ?? 0, maxRssBytes);
          } else {
            // The probed page runs the first attempt; one after a time-out gets a fresh browser.
            const page = probed ?? (await ChromiumPage.open(browser.executable!, browser.server!));
            probed = undefined;
            try {
              const { memoryKind } = await page.run(part, events, signal);
              if (memoryKind) result.memoryKind = memoryKind;
            } finally {
              await page.close();
            }
          }
        }, plan.presetTimeoutMs, (preset, why) => {
          log.line(`  ${id}: ${preset} stopped: ${why}; going on with a fresh ${host === 'node' ? 'worker' : 'browser'}`);
          collector.failRemaining(host, avail.engine, why, preset);
        }, stop);
        if (outcome === 'stopped') {
          interruptedAt = id;
          result.reason = 'interrupted: only the cells measured before the interruption are reported';
          log.line(`  ${id}: interrupted`);
        }
      } catch (e) {
        const why = `${host === 'node' ? 'worker' : 'page'} failed: ${e instanceof WorkerError ? e.message : errorMessage(e)}`;
        result.status = 'failed';
        result.reason = why;
        log.line(`  ${id}: ${firstLine(why)}`);
        if (!engines.includes(result)) engines.push(result);
        collector.failRemaining(host, avail.engine, why);
      }
    }
  } finally {
    await browser.server?.close();
  }

  if (stop?.aborted) {
    notes.push(
      `Interrupted by the user${interruptedAt ? ` while ${interruptedAt} was running` : ''}: ${collector.measurements.length} cells were measured, the rest were not run. ` +
        'The tables and charts cover the measured cells only.',
    );
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


