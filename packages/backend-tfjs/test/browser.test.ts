import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOSS_OUTPUTS, densityLossGraph, referenceGradientEngine, referenceRuntime, runGraph, type Tensor } from '@bijective/core';
import { FLOAT32_TOLERANCES, assertClose, caseFlow, caseInput, flowCases, gradientError, primitiveCases } from '@bijective/core/testing';
import type { BrowserApi, Plain } from './browser/page.js';

/**
 * The browser engines, in headless Chromium (software WebGL and WebGPU through SwiftShader):
 * this package's browser entry point is bundled with esbuild, served from 127.0.0.1 by a tiny
 * HTTP server, driven by playwright. Every primitive case of core's conformance suite, and
 * the flow cases of {@link BROWSER_FLOWS}, run on `tfjs-webgl` and `tfjs-webgpu`, compared in
 * Node with the float64 reference at the float32 tolerances.
 *
 * Flows are a subset for time: each new kernel shape compiles a shader (software GPU), so a
 * multi-scale flow takes ~5 s per engine here. The subset still covers dense and conv
 * couplings, ActNorm, both 1×1-conv variants (host float64 linear algebra) and all of
 * logProb / encode / decode / sample; every primitive (loop included) runs in its own case.
 */
const BROWSER_FLOWS = new Set(['flow/realnvp-vector', 'flow/actnorm-invconv-vector', 'flow/realnvp-image']);
/** Gradient error bound, relative to the flow's largest gradient entry (measured ≤ 2.8e-7 on both GPU engines). */
const GRAD_TOL = 1e-5;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'];
const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

let server: http.Server;
let browser: Browser;
let page: Page;

const call = <K extends keyof BrowserApi>(name: K, ...args: Parameters<BrowserApi[K]>): Promise<Awaited<ReturnType<BrowserApi[K]>>> =>
  page.evaluate(([n, a]) => (globalThis as unknown as { bijective: Record<string, (...x: unknown[]) => unknown> }).bijective[n as string]!(...(a as unknown[])), [name, args] as const) as never;

const plain = (t: { data: ArrayLike<number>; shape: readonly number[] }): Plain => ({ data: Array.from(t.data), shape: [...t.shape] });
const mapValues = <A, B>(o: Record<string, A>, f: (a: A) => B) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [join(here, 'browser/page.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    conditions: ['@bijective/source'],
    target: 'es2022',
    logLevel: 'error',
  });
  const js = bundle.outputFiles[0]!.text;
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  server = http.createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      if (url === '/bundle.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
      } else if (/^\/tfjs-backend-wasm[a-z-]*\.wasm$/.test(url)) {
        res.writeHead(200, { 'content-type': 'application/wasm' }).end(await readFile(join(wasmDir, url.slice(1))));
      } else if (url === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>loading</title><script type="module" src="/bundle.js"></script>');
      } else res.writeHead(404).end();
    })();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.waitForFunction(() => document.title === 'ready', null, { timeout: 60_000 }).catch(() => {
    throw new Error(`the test page did not start: ${errors.join('; ') || 'no error reported'}`);
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

describe('browser engines in headless Chromium', () => {
  it('lists webgl, webgpu and wasm as available in the browser, the Node engines as not', async () => {
    const engines = Object.fromEntries((await call('listEngines')).map((e) => [e.engine, e]));
    for (const e of ['tfjs-cpu', 'tfjs-wasm', 'tfjs-webgl', 'tfjs-webgpu']) expect(engines[e]!.available, `${e}: ${engines[e]!.reason}`).toBe(true);
    expect(engines['tfjs-node']!.reason).toMatch(/needs Node\.js/);
  });

  for (const engine of ['tfjs-webgl', 'tfjs-webgpu']) {
    describe(engine, () => {
      for (const c of primitiveCases()) {
        it(c.name, async () => {
          const expected = runGraph(c.graph, {
            params: mapValues(c.params, (p) => ({ data: Float64Array.from(p.data), shape: p.shape })),
            inputs: mapValues(c.inputs, (t) => ({ data: Float64Array.from(t.data), shape: t.shape })),
            batch: Object.values(c.inputs)[0]!.shape[0]!,
          });
          const actual = await call('runGraph', engine, c.graph, mapValues(c.inputs, plain), mapValues(c.params, plain));
          for (const [k, v] of Object.entries(expected)) {
            expect(actual[k]!.shape).toEqual([...v.shape]);
            assertClose(`${c.name} on ${engine}: output '${k}'`, actual[k]!.data, v.data, FLOAT32_TOLERANCES.primitive);
          }
        });
      }
      const flows = flowCases().filter((c) => BROWSER_FLOWS.has(c.name));
      it('the flow subset exists in the conformance suite', () => expect(flows.map((c) => c.name).sort()).toEqual([...BROWSER_FLOWS].sort()));
      for (const c of flows) {
        it(c.name, async () => {
          const flow = caseFlow(c);
          const x = caseInput(c, 4);
          const ref = referenceRuntime(flow);
          const opts = { n: 3, temperature: 0.7, seed: 42 };
          const got = await call('flow', engine, flow.spec, mapValues(flow.params, plain), plain(x), opts);
          expect(got.engine).toBe(engine);
          const tol = FLOAT32_TOLERANCES;
          assertClose(`${c.name} logProb`, got.logProb, await ref.logProb(x), tol.logProb);
          const enc = await ref.encode(x);
          assertClose(`${c.name} logDet`, got.logDet, enc.logDet, tol.logProb);
          assertClose(`${c.name} z`, got.z.data, enc.z.data, tol.roundTrip);
          assertClose(`${c.name} decode(encode(x))`, got.decoded.data, (x as Tensor).data, tol.roundTrip);
          assertClose(`${c.name} sample(seed 42)`, got.sample.data, (await ref.sample(opts)).data, tol.sample);
        });
      }
      for (const c of flows) {
        it(`${c.name}: training gradients`, async () => {
          // What a training step asks of the engine: the mean NLL of a batch and d/dθ of every
          // trainable parameter, against the float64 reference's exact gradients.
          const flow = caseFlow(c);
          const x = caseInput(c, 4);
          const graph = densityLossGraph(flow);
          const wrt = Object.keys(flow.params).filter((k) => flow.paramDecls[k]!.trainable !== false);
          const opts = { loss: LOSS_OUTPUTS.loss, wrt, outputs: [LOSS_OUTPUTS.logProb] };
          const ref = await (await referenceGradientEngine.compile(graph, opts)).run({ x }, mapValues(flow.params, (p) => p.data));
          const got = await call('gradients', engine, flow.spec, mapValues(flow.params, plain), plain(x), wrt);
          expect(got.engine).toBe(engine);
          expect(Math.abs(got.loss - ref.loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.loss)));
          assertClose(`${c.name} logProb`, got.logProb, ref.outputs.logProb!, FLOAT32_TOLERANCES.logProb);
          // Errors against the largest gradient entry of the flow (at least 1), as in the Node tests.
          const { worst, scale } = gradientError(got.grads, ref.grads, wrt);
          console.log(`${engine} ${c.name}: gradients within ${worst.toExponential(2)} of the reference (scale ${scale.toFixed(2)})`);
          expect(worst).toBeLessThan(GRAD_TOL);
        });
      }
    });
  }
});
