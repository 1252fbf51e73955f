/**
 * A worker process: lists the engines (and times the GEMM probe), or runs one engine's job, and streams events to the
 * parent over IPC. One process per engine keeps engines from sharing a heap, thread pools
 * or tfjs's global backend, and makes the process's peak RSS that engine's.
 */
import { performance } from 'node:perf_hooks';
import type { ParamTensor } from '@bijective/core';
import { gemmModel } from '../gemm.js';
import { errorMessage, runEngineJob, type EngineJob, type HostEvent, type MemoryProbe } from '../host.js';
import type { TimingResult } from '../results.js';
import { measure, type TimingOptions } from '../timing.js';
import type { Availability } from '../engines.js';
import { createNodeRuntime, createOrtModelRuntime, listNodeEngines, openNodeGradients } from './backends.js';

export type WorkerRequest =
  | { type: 'ack' }
  /** List the engines, then (when given and ort-node-cpu is available) time the GEMM probe. */
  | { type: 'list'; gemm?: { m: number; k: number; timing: TimingOptions } }
  | { type: 'run'; job: EngineJob; params: Record<string, Record<string, ParamTensor>> };

export type WorkerReply =
  | HostEvent
  | { type: 'list'; engines: Availability[] }
  | { type: 'gemm'; timing?: TimingResult; error?: string }
  | { type: 'exit'; maxRssBytes: number };

export const NODE_MEMORY_KIND = 'process RSS: peak of samples taken after every timed sample (includes native and wasm memory)';

function send(msg: WorkerReply): Promise<void> {
  return new Promise((resolve, reject) => process.send!(msg, undefined, {}, (e) => (e ? reject(e) : resolve())));
}

const acks: (() => void)[] = [];

/**
 * Sends an event and waits until the parent has handled it: a correctness check may keep
 * the parent busy (the reference maps a sample back to its noise), and the next timing
 * must not share the CPU with that.
 */
async function emit(event: HostEvent): Promise<void> {
  const handled = new Promise<void>((resolve) => acks.push(resolve));
  await send(event);
  await handled;
}

function rssProbe(): MemoryProbe {
  let peak = 0;
  return {
    kind: NODE_MEMORY_KIND,
    begin: () => void (peak = process.memoryUsage.rss()),
    sample: () => void (peak = Math.max(peak, process.memoryUsage.rss())),
    end: async () => peak,
  };
}

async function handle(req: Exclude<WorkerRequest, { type: 'ack' }>): Promise<void> {
  if (req.type === 'list') {
    const engines = await listNodeEngines();
    await send({ type: 'list', engines });
    const g = req.gemm;
    if (!g || !engines.some((e) => e.engine === 'ort-node-cpu' && e.available)) return;
    try {
      const rt = await createOrtModelRuntime(gemmModel(g.k), 'ort-node-cpu');
      const z = { data: new Float32Array(g.m * g.k).fill(0.5), shape: [g.m, g.k] };
      const timing = await measure(() => rt.decode(z), g.timing, { clock: performance });
      await rt.dispose();
      await send({ type: 'gemm', timing });
    } catch (e) {
      await send({ type: 'gemm', error: errorMessage(e) });
    }
    return;
  }
  await runEngineJob(req.job, {
    clock: performance,
    memory: rssProbe(),
    params: async (preset) => {
      const p = req.params[preset];
      if (!p) throw new Error(`no weights sent for preset '${preset}'`);
      return p;
    },
    createRuntime: createNodeRuntime,
    openGradients: openNodeGradients,
    emit,
  });
}

let started = false;
process.on('message', (req: WorkerRequest) => {
  if (req.type === 'ack') {
    acks.shift()?.();
    return;
  }
  if (started) return;
  started = true;
  handle(req)
    .catch((e: unknown) => send({ type: 'runtime', preset: '*', error: `worker failed: ${errorMessage(e)}` }))
    .then(() => send({ type: 'exit', maxRssBytes: process.resourceUsage().maxRSS * 1024 }))
    .finally(() => {
      // Engines keep thread pools alive; the parent has everything, so leave now.
      process.exit(0);
    });
});
