import { engineStatus } from '@bijective/core';
import { env } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { wasmEngine, registerEngine } from '@bijective/backend-tfjs';
import { BROWSER_ENGINES, type BrowserEngine } from './choice.js';

export { BROWSER_ENGINES, defaultEngine, defaultTrainer, type BrowserEngine } from './choice.js';

const GPU_ENGINES = new Set(['ort-web-webgpu', 'tfjs-webgpu', 'tfjs-webgl']);
const SOFTWARE = /swiftshader|llvmpipe|softpipe|software|basic render/i;

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}

/** Why the WebGPU adapter looks like a software one, or undefined when it does not (or there is none). */
async function softwareWebGpu(): Promise<string | undefined> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  if (!adapter) return undefined;
  const info = adapter.info ?? {};
  const text = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
  if (adapter.isFallbackAdapter || info.isFallbackAdapter) return `fallback adapter${text ? ` (${text})` : ''}`;
  return SOFTWARE.test(text) ? `software adapter (${text})` : undefined;
}

/** The WebGL renderer's name when it is a software one. */
function softwareWebGl(): string | undefined {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return undefined;
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return SOFTWARE.test(renderer) ? `software renderer (${renderer})` : undefined;
}

/**
 * Points tfjs' WebAssembly engine at the files the playground serves (see assets-plugin.ts), single
 * threaded: tfjs-backend-wasm starts its threads by sending `factory.toString()` of its bundled
 * module to a worker, and in a minified bundle that source refers to names of the enclosing
 * chunk, so every worker fails with "e is not defined" and the backend never starts.
 */
export function configureEngines(baseUrl: string): void {
  env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  registerEngine(wasmEngine({ wasmPaths: new URL('tfjs-wasm/', baseUrl).href }));
}

/** Every browser engine's status (probed one at a time: tfjs has one global backend). */
export async function probeEngines(onEach?: (e: BrowserEngine) => void): Promise<BrowserEngine[]> {
  const webgpu = await softwareWebGpu();
  const webgl = softwareWebGl();
  const out: BrowserEngine[] = [];
  for (const name of BROWSER_ENGINES) {
    let s: BrowserEngine;
    try {
      s = await engineStatus(name);
    } catch (e) {
      s = { engine: name, family: name.split('-')[0]!, available: false, reason: (e as Error).message, trains: false };
    }
    if (s.available && GPU_ENGINES.has(name)) {
      const software = name === 'tfjs-webgl' ? webgl : webgpu;
      if (software) s = { ...s, software };
    }
    out.push(s);
    onEach?.(s);
  }
  return out;
}
