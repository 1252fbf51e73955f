/**
 * The browser side of browser.test.ts: bundled with the package's web entry (never the
 * Node binding), it exposes `window.bijective` for the test to drive through Playwright.
 */
import { configureWeb, listEngines, ortRuntime, type OrtEngine } from '../../src/web.js';

configureWeb({ wasmPaths: '/ort/' });

async function fetchModel(name: string): Promise<Uint8Array> {
  const res = await fetch(`/models/${name}`);
  if (!res.ok) throw new Error(`GET /models/${name}: ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function run(engine: OrtEngine, x: number[], shape: number[]) {
  const rt = await ortRuntime({ logProb: await fetchModel('log_prob.onnx'), sample: await fetchModel('sample.onnx') }, { engine });
  try {
    const input = { data: Float32Array.from(x), shape };
    const logProb = Array.from(await rt.logProb(input));
    const { z } = await rt.encode(input);
    const decoded = Array.from((await rt.decode(z)).data);
    const sample = Array.from((await rt.sample({ n: 3, seed: 5, temperature: 0.8 })).data);
    return { logProb, z: Array.from(z.data), decoded, sample };
  } finally {
    await rt.dispose();
  }
}

(window as unknown as { bijective: unknown }).bijective = {
  run,
  listEngines,
  crossOriginIsolated: globalThis.crossOriginIsolated,
};
