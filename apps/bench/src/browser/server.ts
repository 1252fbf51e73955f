import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ASSET_PATHS } from './assets.js';

/**
 * The page's server, on 127.0.0.1 only: the bundled bench script, the engines' wasm files,
 * and each preset's weights. Every response is cross-origin isolated (COOP + COEP), which
 * gives the page SharedArrayBuffer (multi-threaded wasm), a 5 µs `performance.now()` and
 * `measureUserAgentSpecificMemory()`.
 */

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

const ISOLATION = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** The folders holding onnxruntime-web's and tfjs-backend-wasm's runtime files, found from the backends that use them. */
export function assetDirs(): { ortWasm: string; tfjsWasm: string } {
  const fromOnnx = createRequire(fileURLToPath(import.meta.resolve('@bijective/backend-onnx/web')));
  const fromTfjs = createRequire(fileURLToPath(import.meta.resolve('@bijective/backend-tfjs')));
  return {
    ortWasm: dirname(fromOnnx.resolve('onnxruntime-web')),
    tfjsWasm: dirname(fromTfjs.resolve('@tensorflow/tfjs-backend-wasm')),
  };
}

/** Bundles `page.ts` (or the built `page.js`) for the browser. */
export async function bundlePage(): Promise<string> {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(fromSource ? './page.ts' : './page.js', import.meta.url));
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@bijective/source'],
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  return result.outputFiles[0]!.text;
}

const PAGE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>bijective bench</title></head>
<body><script type="module" src="${ASSET_PATHS.script}"></script></body></html>`;

export interface BenchServer {
  url: string;
  close(): Promise<void>;
}

/** Starts the server on an ephemeral port. `weights(preset)` gives a preset's safetensors bytes. */
export async function startServer(script: string, weights: (preset: string) => Uint8Array | undefined): Promise<BenchServer> {
  const dirs = assetDirs();
  const send = (res: ServerResponse, status: number, body: string | Uint8Array, type: string) => {
    res.writeHead(status, { 'content-type': type, ...ISOLATION });
    res.end(body);
  };
  const serveFile = async (res: ServerResponse, dir: string, name: string) => {
    // Only plain file names inside the folder: no traversal.
    if (name !== basename(name) || name.startsWith('.')) return send(res, 404, 'not found', 'text/plain');
    try {
      send(res, 200, await readFile(join(dir, name)), TYPES[extname(name)] ?? 'application/octet-stream');
    } catch {
      send(res, 404, 'not found', 'text/plain');
    }
  };
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    if (path === ASSET_PATHS.page) return send(res, 200, PAGE_HTML, TYPES['.html']!);
    if (path === ASSET_PATHS.script) return send(res, 200, script, TYPES['.js']!);
    if (path === '/favicon.ico') {
      res.writeHead(204, ISOLATION);
      return res.end();
    }
    if (path.startsWith(ASSET_PATHS.ortWasm)) return serveFile(res, dirs.ortWasm, path.slice(ASSET_PATHS.ortWasm.length));
    if (path.startsWith(ASSET_PATHS.tfjsWasm)) return serveFile(res, dirs.tfjsWasm, path.slice(ASSET_PATHS.tfjsWasm.length));
    if (path.startsWith(ASSET_PATHS.weights)) {
      const bytes = weights(path.slice(ASSET_PATHS.weights.length));
      return bytes ? send(res, 200, bytes, 'application/octet-stream') : send(res, 404, 'no such preset', 'text/plain');
    }
    return send(res, 404, 'not found', 'text/plain');
  };
  const server: Server = createServer((req, res) => {
    handler(req, res).catch((e: unknown) => send(res, 500, String(e), 'text/plain'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('bench server: no TCP address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
