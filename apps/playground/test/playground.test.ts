import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openRuntime, sampleNoise } from '@bijective/core';
import '@bijective/backend-onnx/node';
import { shippedCheckpoint } from '@bijective/models/node';
import { build, type Rollup } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PlaygroundHook } from '../src/app.js';
import { ISOLATION_HEADERS } from '../assets-plugin.js';

/**
 * The playground as a user gets it: `vite build` into a temporary folder, served by a small
 * static server (cross-origin isolated, as the dev server is), opened in headless Chromium.
 * It must list the engines, sample the image flow on ort-web-wasm, train a 2-D flow in the page
 * (the loss going down), and raise no page error; the bundle must import no Node built-in.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json' };

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? filesUnder(join(dir, f)) : [join(dir, f)]));
}

const BUILTIN = /^(node:.*|fs|path|os|url|module|crypto|zlib|util|stream|worker_threads|perf_hooks|child_process)(\/.*)?$/;
/**
 * Third-party modules that name a Node built-in in code they run only under Node (emscripten's
 * ENVIRONMENT_IS_NODE branches, tfjs' Node platform, seedrandom's Node entropy); their package's
 * `browser` field maps the built-in to an empty module. Any other importer fails the test.
 */
const GUARDED_IMPORTERS = [
  '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm.js',
  '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js',
  '@tensorflow/tfjs-core/dist/platforms/platform_node.js',
  'seedrandom/seedrandom.js',
];

const hook = (page: Page) => page.evaluate(() => (window as unknown as { __playground: PlaygroundHook }).__playground);

describe.skipIf(!existsSync(CHROMIUM))(`the playground in headless Chromium (${CHROMIUM})`, () => {
  let out: string;
  let server: Server;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let chunks: Rollup.OutputChunk[] = [];
  const builtinImports: { id: string; importer: string }[] = [];
  /** Errors a test provoked on purpose (the page logs each to the console too). */
  const provoked: string[] = [];

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'bijective-playground-'));
    const result = await build({
      root,
      configFile: join(root, 'vite.config.ts'),
      logLevel: 'error',
      build: { outDir: out, emptyOutDir: true },
      plugins: [{ name: 'record-builtins', enforce: 'pre', resolveId: (id, importer) => void (BUILTIN.test(id) && builtinImports.push({ id, importer: importer ?? '' })) }],
    });
    chunks = (Array.isArray(result) ? result : [result]).flatMap((r) => ('output' in r ? r.output : [])).filter((o): o is Rollup.OutputChunk => o.type === 'chunk');
    server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
      const file = normalize(join(out, path === '/' ? 'index.html' : path));
      if (!file.startsWith(out) || !existsSync(file) || statSync(file).isDirectory()) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        return res.end('not found');
      }
      res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', ...ISOLATION_HEADERS });
      res.end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'],
    });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(`console: ${m.text()}`));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => (window as unknown as { __playground?: PlaygroundHook }).__playground?.ready === true, undefined, { timeout: 60_000 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    if (out) rmSync(out, { recursive: true, force: true });
  });

  test('the build holds the page, the checkpoints and the wasm files, and imports no Node built-in', () => {
    const files = filesUnder(out).map((f) => relative(out, f));
    expect(files).toContain('index.html');
    expect(files).toContain('checkpoints/glow-fmnist-small/flow.json');
    expect(files).toContain('tfjs-wasm/tfjs-backend-wasm-simd.wasm');
    expect(files.some((f) => /^assets\/ort-wasm-simd-threaded\.jsep-.*\.wasm$/.test(f))).toBe(true);
    // Vite replaces a Node built-in in a browser build by its `__vite-browser-external` stub (the
    // failure issue 16 reports for @bijective/models); none of our modules may import one.
    expect(chunks.length).toBeGreaterThan(1);
    const modules = chunks.flatMap((c) => c.moduleIds);
    for (const used of ['models/src/latent.ts', 'models/src/render.ts', 'backend-onnx/src/web.ts', 'backend-tfjs/src/engines.ts']) expect(modules.some((m) => m.includes(used)), used).toBe(true);
    expect(modules.filter((m) => m.startsWith('node:') || /\/src\/(node|shipped)\.ts$/.test(m) || m.includes('onnxruntime-node'))).toEqual([]);
    expect(builtinImports.filter((b) => !GUARDED_IMPORTERS.some((g) => b.importer.endsWith(g)))).toEqual([]);
    const imports = chunks.flatMap((c) => [...c.imports, ...c.dynamicImports]);
    expect(imports.filter((i) => i.startsWith('node:') || !files.includes(i))).toEqual([]);
    const builtin = /\bfrom\s*["'](node:[\w/]+|fs|path|os|zlib|crypto|module|url|child_process|worker_threads)["']|\bimport\(\s*["']node:/;
    for (const c of chunks) expect(c.code.match(builtin)?.[0], c.fileName).toBeUndefined();
  });

  test('the engine table lists the browser engines, ort-web-wasm and tfjs-wasm available, a default chosen', async () => {
    const h = await hook(page);
    const by = Object.fromEntries(h.engines.map((e) => [e.engine, e]));
    expect(Object.keys(by).sort()).toEqual(['ort-web-wasm', 'ort-web-webgpu', 'reference', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-webgl', 'tfjs-webgpu']);
    expect(by['ort-web-wasm']!.available).toBe(true);
    expect(by['tfjs-wasm']!.available).toBe(true);
    expect(h.defaultEngine).toBeDefined();
    const rows = await page.locator('#engines tbody tr').count();
    expect(rows).toBe(h.engines.length);
  });

  test('in a browser without WebGPU, the WebGPU engines are listed as unavailable with the reason', async () => {
    const bare = await browser.newPage();
    try {
      bare.on('pageerror', (e) => pageErrors.push(`(page without WebGPU) ${e.message}`));
      await bare.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
      await bare.goto(page.url());
      await bare.waitForFunction(() => (window as unknown as { __playground?: PlaygroundHook }).__playground?.ready === true, undefined, { timeout: 60_000 });
      const h = await hook(bare);
      for (const engine of ['ort-web-webgpu', 'tfjs-webgpu']) {
        const e = h.engines.find((s) => s.engine === engine)!;
        expect(e.available, engine).toBe(false);
        expect(e.reason, engine).toContain('navigator.gpu');
        const row = bare.locator(`#engines tr[data-engine="${engine}"]`);
        expect(await row.getAttribute('class')).toBe('unavailable');
        expect(await row.textContent()).toContain('no WebGPU');
        expect(await bare.locator(`#engine option[value="${engine}"]`).isDisabled()).toBe(true);
      }
      expect(h.defaultEngine).not.toMatch(/webgpu/);
    } finally {
      await bare.close();
    }
  });

  let nodePixels: Float32Array | Float64Array | undefined;
  for (const engine of ['ort-web-wasm', 'tfjs-wasm']) {
    test(`a sample grid of glow-fmnist-small on ${engine} draws varied pixels, equal to onnxruntime-node's for the seed`, async () => {
      await page.selectOption('#engine', engine);
      if (engine === 'ort-web-wasm') {
        // Before the first grid, these only set what it will be.
        await page.fill('#temperature', '0.5');
        await page.selectOption('#sample-model', 'glow-fmnist-small');
      }
      await page.click('#sample-run');
      await page.waitForFunction(
        (e) => {
          const h = (window as unknown as { __playground: PlaygroundHook }).__playground;
          return h.busy === 0 && h.lastSample?.engine === e && h.lastSample.model === 'glow-fmnist-small';
        },
        engine,
        { timeout: 60_000 },
      );
      const stats = await page.evaluate(() => {
        const c = document.getElementById('sample-grid') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        const grey = new Set<number>();
        for (let i = 0; i < d.length; i += 4) grey.add(d[i]!);
        return { width: c.width, height: c.height, levels: grey.size };
      });
      // 24 images of 28×28 at zoom 3 on 8 columns: 8·(84+2)+2 by 3·(84+2)+2.
      expect(stats).toMatchObject({ width: 690, height: 260 });
      expect(stats.levels).toBeGreaterThan(50);
      const s = (await hook(page)).lastSample!;
      expect(s).toMatchObject({ model: 'glow-fmnist-small', n: 24, temperature: 0.5, seed: 0, nonFinite: 0 });
      expect(s.max - s.min).toBeGreaterThan(0.2);
      // The same latents (core's seeded noise: 24 at temperature 0.5, seed 0) decoded by onnxruntime-node.
      if (!nodePixels) {
        const { flow } = await shippedCheckpoint('glow-fmnist-small');
        const rt = await openRuntime(flow, 'ort-node-cpu');
        nodePixels = (await rt.decode(sampleNoise({ n: 24, temperature: 0.5, seed: 0 }, flow.spec.event))).data;
        await rt.dispose();
      }
      expect(s.pixels).toHaveLength(nodePixels.length);
      let worst = 0;
      s.pixels.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - nodePixels![i]!))));
      console.log(`playground sample on ${engine} vs ort-node-cpu: max |Δpixel| ${worst.toExponential(2)}`);
      // float32 on both sides, other kernels (measured 4e-7 on ort-web-wasm).
      expect(worst).toBeLessThan(1e-5);
    });
  }

  test('slerp keeps the latent norm between two samples of the grid', async () => {
    await page.click('#interp-run');
    await page.waitForFunction(() => (window as unknown as { __playground: PlaygroundHook }).__playground.lastInterpolation !== undefined, undefined, { timeout: 60_000 });
    const it = (await hook(page)).lastInterpolation!;
    expect(it).toMatchObject({ engine: 'tfjs-wasm', frames: 10, path: 'slerp' });
    // The norm goes linearly from |a| to |b| along a slerp path.
    const [first, last] = [it.norms[0]!, it.norms.at(-1)!];
    it.norms.forEach((v, f) => expect(Math.abs(v - (first + ((last - first) * f) / 9))).toBeLessThan(1e-9 * first));
  });

  test('an attribute edit (T-shirt/top → Shirt) reconstructs its image at frame 0 and changes it along the direction', async () => {
    await page.fill('#edit-per', '8');
    await page.click('#edit-run');
    await page.waitForFunction(() => (window as unknown as { __playground: PlaygroundHook }).__playground.lastEdit !== undefined, undefined, { timeout: 60_000 });
    const e = (await hook(page)).lastEdit!;
    console.log(`playground edit on ${e.engine}: |direction| ${e.directionNorm.toFixed(2)}, reconstruction ${e.reconstructionError.toExponential(1)}, mean |Δpixel| at strength 1 ${e.meanChange.toFixed(3)}`);
    expect(e).toMatchObject({ engine: 'tfjs-wasm', from: 0, to: 6, perClass: 8 });
    // encode → decode in float32 through 16 Glow steps: measured ~9e-7.
    expect(e.reconstructionError).toBeLessThan(1e-4);
    expect(e.directionNorm).toBeGreaterThan(1);
    // One unit of the direction moves pixels by ~0.09 on average (measured, 32 per class).
    expect(e.meanChange).toBeGreaterThan(0.02);
    const levels = await page.evaluate(() => {
      const c = document.getElementById('edit-strip') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      return new Set(Array.from({ length: d.length / 4 }, (_, i) => d[4 * i]!)).size;
    });
    expect(levels).toBeGreaterThan(50);
  });

  test('live training of realnvp-2d on the mixture lowers the loss', async () => {
    const h0 = await hook(page);
    await page.selectOption('#train-preset', 'realnvp-2d');
    await page.selectOption('#train-data', 'mixture');
    await page.fill('#train-steps', '40');
    await page.fill('#train-every', '20');
    await page.fill('#train-batch', '128');
    await page.click('#train-run');
    await page.waitForFunction(() => ['done', 'error', 'stopped'].includes((window as unknown as { __playground: PlaygroundHook }).__playground.training.state), undefined, { timeout: 90_000 });
    const t = (await hook(page)).training;
    expect(t).toMatchObject({ state: 'done', engine: h0.defaultTrainer, preset: 'realnvp-2d', steps: 40 });
    expect(t.losses).toHaveLength(40);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const before = mean(t.losses.slice(0, 5));
    const after = mean(t.losses.slice(-5));
    console.log(`playground training on ${t.engine}: loss ${before.toFixed(3)} → ${after.toFixed(3)} nats in ${t.ms?.toFixed(0)} ms`);
    expect(after).toBeLessThan(before - 0.3);
    const status = await page.textContent('#status');
    expect(status).toContain('done');
  });

  test('clicks on the plot add drawn data points', async () => {
    await page.selectOption('#train-data', 'drawn');
    expect((await hook(page)).dataPoints).toBe(0);
    await page.locator('#train-density').scrollIntoViewIfNeeded();
    const box = (await page.locator('#train-density').boundingBox())!;
    // Inside the plot (34 px left margin, 8 px top, 320 px square, drawn at 1:1).
    for (const [x, y] of [[100, 100], [200, 150], [300, 250]] as const) await page.mouse.click(box.x + x, box.y + y);
    expect((await hook(page)).dataPoints).toBe(75);
    await page.click('#train-clear');
    expect((await hook(page)).dataPoints).toBe(0);
  });

  test('training on an empty drawing is an error shown in the page, not only in the console', async () => {
    await page.click('#train-run');
    await page.waitForFunction(() => (window as unknown as { __playground: PlaygroundHook }).__playground.busy === 0);
    const shown = await page.textContent('#errors');
    expect(shown).toContain('the drawn dataset has 0 point(s); click on the plot to add some');
    expect(await page.textContent('#status')).toContain('failed (see the error above)');
    provoked.push('the drawn dataset has 0 point(s)');
  });

  test('Stop ends a live training run after the current step, keeping what it learned', async () => {
    await page.selectOption('#train-data', 'moons');
    await page.fill('#train-steps', '5000');
    await page.click('#train-run');
    await page.waitForFunction(() => (window as unknown as { __playground: PlaygroundHook }).__playground.training.losses.length >= 5, undefined, { timeout: 30_000 });
    await page.click('#train-stop');
    await page.waitForFunction(() => (window as unknown as { __playground: PlaygroundHook }).__playground.training.state !== 'running', undefined, { timeout: 30_000 });
    const t = (await hook(page)).training;
    expect(t.state).toBe('stopped');
    expect(t.steps).toBeGreaterThanOrEqual(5);
    expect(t.steps).toBeLessThan(5000);
    expect(t.losses).toHaveLength(t.steps);
    expect(await page.isDisabled('#train-stop')).toBe(true);
    expect(await page.isEnabled('#train-run')).toBe(true);
  });

  test('the mini-bench times ort-web-wasm and tfjs-wasm and offers the faster', async () => {
    for (const box of await page.locator('#bench-engines input').all()) await box.setChecked(['ort-web-wasm', 'tfjs-wasm'].includes(await box.inputValue()));
    await page.click('#bench-run');
    await page.waitForFunction(() => {
      const h = (window as unknown as { __playground: PlaygroundHook }).__playground;
      return h.busy === 0 && h.bench.length === 2;
    }, undefined, { timeout: 60_000 });
    const rows = (await hook(page)).bench;
    expect(rows.map((r) => r.engine)).toEqual(['ort-web-wasm', 'tfjs-wasm']);
    for (const r of rows) {
      expect(r.error).toBeUndefined();
      expect(Object.keys(r.ms).sort()).toEqual(['logProb@1', 'logProb@64', 'sample@1', 'sample@64']);
      for (const v of Object.values(r.ms)) expect(v).toBeGreaterThan(0);
    }
    const fastest = rows.reduce((a, b) => (b.ms['logProb@64']! < a.ms['logProb@64']! ? b : a)).engine;
    await page.click('#bench-use');
    expect(await page.inputValue('#engine')).toBe(fastest);
    mkdirSync(join(root, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(root, 'test-results', 'playground.png'), fullPage: true });
  });

  test('no page errors (besides the one provoked above)', () => {
    expect(pageErrors.filter((e) => !provoked.some((p) => e.includes(p)))).toEqual([]);
  });
});
