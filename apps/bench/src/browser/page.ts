/**
 * The bench page: bundled by esbuild, served on 127.0.0.1 and driven by playwright. It
 * exposes `window.bijectiveBench` (environment, engine list, run) and streams every event
 * back through the `benchEmit` binding the driver installs. The same `runEngineJob` loop
 * as the Node workers runs here, on the page's clock.
 */
import { decodeSafetensors, engineStatus, openGradients, openRuntime, type ParamTensor } from '@bijective/core';
// Importing the backends registers their engines with core's registry.
import { registerEngine, wasmEngine } from '@bijective/backend-tfjs';
import { configureWeb } from '@bijective/backend-onnx/web';
import type { Availability } from '../engines.js';
import { runEngineJob, type EngineJob, type HostEvent, type MemoryProbe } from '../host.js';
import type { GpuAdapterInfo, PageEnvironment } from '../results.js';
import { ASSET_PATHS } from './assets.js';
import { isSoftwareRenderer } from './software.js';

registerEngine(wasmEngine({ wasmPaths: ASSET_PATHS.tfjsWasm }));
configureWeb({ wasmPaths: ASSET_PATHS.ortWasm });

const perf = performance as Performance & { memory?: { usedJSHeapSize: number } };

async function gpuAdapter(): Promise<{ info?: GpuAdapterInfo; why?: string }> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return { why: 'navigator.gpu is undefined (no WebGPU in this browser or context)' };
  const adapter = (await gpu.requestAdapter()) as { info?: Record<string, unknown>; isFallbackAdapter?: boolean } | null;
  if (!adapter) return { why: 'navigator.gpu.requestAdapter() returned null' };
  const i = adapter.info ?? {};
  const str = (k: string) => (typeof i[k] === 'string' ? (i[k] as string) : '');
  const isFallbackAdapter = i.isFallbackAdapter === true || adapter.isFallbackAdapter === true;
  const text = [str('vendor'), str('architecture'), str('device'), str('description')].join(' ');
  return {
    info: { vendor: str('vendor'), architecture: str('architecture'), device: str('device'), description: str('description'), isFallbackAdapter, software: isFallbackAdapter || isSoftwareRenderer(text) },
  };
}

function webglRenderer(): string | undefined {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return undefined;
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
}

const HEAP_KIND = 'performance.memory.usedJSHeapSize: peak of samples after every timed sample (JS heap only; no wasm or GPU memory)';

/**
 * The page's own memory probe: the JS heap (Chromium's `performance.memory`). The driver
 * replaces it with the renderer and GPU processes' RSS where it can read them (Linux);
 * `measureUserAgentSpecificMemory()` is not used: with onnxruntime-web's worker threads
 * busy it does not answer for 60 s.
 */
function memoryProbe(): MemoryProbe {
  let peak = 0;
  const heap = () => perf.memory?.usedJSHeapSize ?? 0;
  return {
    kind: HEAP_KIND,
    begin: () => void (peak = heap()),
    sample: () => void (peak = Math.max(peak, heap())),
    end: async () => (perf.memory ? peak : undefined),
  };
}

async function environment(): Promise<PageEnvironment> {
  const gpu = await gpuAdapter().catch((e: unknown) => ({ why: `requestAdapter() failed: ${String(e)}` }) as { info?: GpuAdapterInfo; why?: string });
  const gl = webglRenderer();
  return {
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    crossOriginIsolated,
    ...(gpu.info ? { webgpu: gpu.info } : { webgpuUnavailable: gpu.why ?? 'no adapter' }),
    ...(gl !== undefined ? { webgl: gl } : {}),
    memoryKind: memoryProbe().kind,
  };
}

/**
 * Whether `engine` runs in this page, asking only that engine's backend: probing every
 * engine here would start the others' runtimes beside it (onnxruntime-web even refuses a
 * second concurrent initialisation).
 */
async function probe(engine: string): Promise<Availability> {
  try {
    return await engineStatus(engine);
  } catch (e) {
    return { engine, available: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

async function params(preset: string): Promise<Record<string, ParamTensor>> {
  const res = await fetch(`${ASSET_PATHS.weights}${encodeURIComponent(preset)}`);
  if (!res.ok) throw new Error(`weights of '${preset}': HTTP ${res.status}`);
  const { tensors } = decodeSafetensors(new Uint8Array(await res.arrayBuffer()), `weights of '${preset}'`);
  return tensors;
}

async function run(job: EngineJob): Promise<void> {
  const emit = (window as unknown as { benchEmit(e: HostEvent): Promise<void> }).benchEmit;
  await runEngineJob(job, {
    clock: performance,
    memory: memoryProbe(),
    params,
    createRuntime: openRuntime,
    openGradients,
    emit,
  });
}

(window as unknown as { bijectiveBench: unknown }).bijectiveBench = { environment, probe, run };
