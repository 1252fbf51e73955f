import { performance } from 'node:perf_hooks';
import { errorMessage } from '../host.js';
import type { BenchPlan } from '../plan.js';
import { formatMs } from '../report/format.js';
import type { BenchResults } from '../results.js';
import type { Log } from '../terminal.js';
import type { Workload } from '../workload.js';
import { CHROMIUM_INSTALL, ChromiumPage, findChromium } from './driver.js';
import type { PageEnvironment } from '../results.js';
import { bundlePage, startServer, type BenchServer } from './server.js';
import { isSoftwareRenderer } from './software.js';

/** The software-GPU caveat printed next to WebGPU/WebGL rows. */
export function gpuNote(engine: string, env: PageEnvironment | undefined): string | undefined {
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

export interface BrowserSetup {
  executable?: string;
  server?: BenchServer;
  env?: PageEnvironment;
  version?: string;
  /** Why no browser engine can run, when none can. */
  unavailable?: string;
}

/** Finds Chromium, bundles the page, starts the server and reads the page's environment (GPU adapter, WebGL renderer). */
export async function startBrowser(plan: BenchPlan, workloads: Map<string, Workload>, log: Log): Promise<BrowserSetup> {
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


export function browserInfo(b: BrowserSetup): NonNullable<BenchResults['machine']['browser']> {
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
