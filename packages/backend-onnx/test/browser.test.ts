import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineStatus } from '../src/engines.js';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exportOnnx, ortRuntime } from '../src/node.js';
import { randomFlow, randomTensor, toleranceRatio } from './helpers.js';
import { SPEC_CASES } from './specs.js';

/**
 * onnxruntime-web in headless Chromium: the package's web entry, bundled, runs a
 * multi-scale image flow's exported models on `ort-web-wasm` and `ort-web-webgpu`
 * (SwiftShader's software WebGPU adapter), and must agree with onnxruntime-node.
 * Pages are served from 127.0.0.1 by a small server, cross-origin isolated so the
 * WebAssembly engine may use threads.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const here = dirname(fileURLToPath(import.meta.url));
const ortDist = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-web')), '..', 'dist');
const MIME: Record<string, string> = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html', '.onnx': 'application/octet-stream' };

const spec = SPEC_CASES.find((c) => c.name.startsWith('multi-scale'))!.spec;
const flow = randomFlow(spec, 3, 0.05);
const models = exportOnnx(flow);
const x = randomTensor([4, ...spec.event], 21);

interface PageResult {
  logProb: number[];
  z: number[];
  decoded: number[];
  sample: number[];
}

describe.skipIf(!existsSync(CHROMIUM))(`headless Chromium (${CHROMIUM})`, () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let node: PageResult;
  let bundledModules: string[] = [];

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [join(here, 'browser', 'page.ts')],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      conditions: ['@bijective/source'],
      external: ['onnxruntime-web'],
      logLevel: 'silent',
      metafile: true,
    });
    // The web entry must not drag the native binding (or any Node built-in) into a browser bundle.
    bundledModules = Object.keys(bundle.metafile.inputs);
    const appJs = bundle.outputFiles[0]!.text;
    const html = `<!doctype html><html><head><script type="importmap">{"imports":{"onnxruntime-web":"/ort/ort.min.mjs"}}</script>
<script type="module" src="/app.js"></script></head><body>bijective</body></html>`;
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const send = (status: number, body: string | Uint8Array, type: string) => {
        // Cross-origin isolation (SharedArrayBuffer) lets onnxruntime-web's WebAssembly use threads.
        res.writeHead(status, { 'Content-Type': type, 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
        res.end(body);
      };
      if (url.pathname === '/') return send(200, html, MIME['.html']!);
      if (url.pathname === '/app.js') return send(200, appJs, MIME['.js']!);
      if (url.pathname === '/models/log_prob.onnx') return send(200, models.logProb, MIME['.onnx']!);
      if (url.pathname === '/models/sample.onnx') return send(200, models.sample, MIME['.onnx']!);
      if (url.pathname.startsWith('/ort/')) {
        const file = normalize(join(ortDist, url.pathname.slice(5)));
        if (file.startsWith(ortDist) && existsSync(file)) return send(200, readFileSync(file), MIME[extname(file)] ?? 'application/octet-stream');
      }
      send(404, 'not found', 'text/plain');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'],
    });
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => 'bijective' in window);

    const rt = await ortRuntime(models, { engine: 'ort-node-cpu' });
    const { z } = await rt.encode(x);
    node = {
      logProb: Array.from(await rt.logProb(x)),
      z: Array.from(z.data),
      decoded: Array.from((await rt.decode(z)).data),
      sample: Array.from((await rt.sample({ n: 3, seed: 5, temperature: 0.8 })).data),
    };
    await rt.dispose();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  test('the browser bundle of the web entry holds no Node binding and no Node built-in', () => {
    expect(bundledModules.some((m) => m.includes('src/web.ts'))).toBe(true);
    expect(bundledModules.filter((m) => m.includes('onnxruntime-node') || m.startsWith('node:') || m.endsWith('src/node.ts'))).toEqual([]);
  });

  test('the page is cross-origin isolated and lists the web engines', async () => {
    const info = await page.evaluate(async () => {
      const b = (window as unknown as { bijective: { listEngines(): Promise<EngineStatus[]>; crossOriginIsolated: boolean } }).bijective;
      return { isolated: b.crossOriginIsolated, engines: await b.listEngines() };
    });
    expect(info.isolated).toBe(true);
    const by = Object.fromEntries(info.engines.map((s) => [s.engine, s]));
    expect(by['ort-web-wasm']!.available).toBe(true);
    expect(by['ort-node-cpu']).toMatchObject({ available: false, reason: expect.stringContaining('@bijective/backend-onnx/node') });
  });

  for (const engine of ['ort-web-wasm', 'ort-web-webgpu'] as const) {
    test(`${engine} runs the multi-scale flow and agrees with onnxruntime-node`, async () => {
      const got = await page.evaluate(
        async ([e, data, shape]) => (window as unknown as { bijective: { run(e: string, x: number[], s: number[]): Promise<PageResult> } }).bijective.run(e, data, shape),
        [engine, Array.from(x.data), x.shape] as const,
      );
      // float32 on both sides, different kernels (WebGPU: SwiftShader shaders): 1e-4 relative.
      // (On SwiftShader the first WebGPU run compiles every shader: ~10-30 s of this test.)
      for (const key of ['logProb', 'z', 'decoded', 'sample'] as const) {
        expect(got[key].length, key).toBe(node[key].length);
        expect(toleranceRatio(got[key], node[key], 1e-4, 1e-4), `${engine} ${key} vs ort-node-cpu`).toBeLessThanOrEqual(1);
      }
      expect(toleranceRatio(got.decoded, Array.from(x.data), 1e-4, 1e-4), `${engine} decode(encode(x)) vs x`).toBeLessThanOrEqual(1);
    });
  }
});
