import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';

/**
 * The playground's static files, taken from where they already live (nothing is copied into
 * git): the shipped checkpoints of `@bijective/models` (each `flow.json` and the weights file it
 * names) and tfjs-backend-wasm's `.wasm` files. The dev server serves them from where they
 * are; `vite build` emits them beside the bundle:
 *
 *   checkpoints/<preset>/flow.json, checkpoints/<preset>/<weights file>
 *   tfjs-wasm/tfjs-backend-wasm{,-simd,-threaded-simd}.wasm
 *
 * (onnxruntime-web's `.wasm` needs nothing here: its bundle names it with
 * `new URL(file, import.meta.url)`, which Vite serves and emits itself.)
 *
 * The virtual module `virtual:bijective-checkpoints` lists the checkpoints found at build time
 * (name, event shape, weights file and bytes), so the page knows what it can load.
 */
const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const CHECKPOINTS = resolve(here, '..', '..', 'packages', 'models', 'checkpoints');
const TFJS_WASM_DIST = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
const TFJS_WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
const VIRTUAL = 'virtual:bijective-checkpoints';
const MIME: Record<string, string> = { '.json': 'application/json', '.wasm': 'application/wasm', '.safetensors': 'application/octet-stream' };

export interface CheckpointEntry {
  name: string;
  event: number[];
  conditional: boolean;
  weights: string;
  bytes: number;
}

/** Every checkpoint folder with a readable flow.json, and the files the page needs from it. */
function checkpointEntries(): CheckpointEntry[] {
  if (!existsSync(CHECKPOINTS)) return [];
  const out: CheckpointEntry[] = [];
  for (const e of readdirSync(CHECKPOINTS, { withFileTypes: true })) {
    const flowFile = join(CHECKPOINTS, e.name, 'flow.json');
    if (!e.isDirectory() || !existsSync(flowFile)) continue;
    const flow = JSON.parse(readFileSync(flowFile, 'utf8')) as { spec: { event: number[]; context?: number[] }; weights: { file: string; bytes: number } };
    out.push({ name: e.name, event: flow.spec.event, conditional: flow.spec.context !== undefined, weights: flow.weights.file, bytes: flow.weights.bytes });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** URL path (no leading slash) → file on disk, for every static file the page may fetch. */
function staticFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const c of checkpointEntries()) {
    files.set(`checkpoints/${c.name}/flow.json`, join(CHECKPOINTS, c.name, 'flow.json'));
    files.set(`checkpoints/${c.name}/${c.weights}`, join(CHECKPOINTS, c.name, c.weights));
  }
  for (const f of TFJS_WASM_FILES) files.set(`tfjs-wasm/${f}`, join(TFJS_WASM_DIST, f));
  for (const [url, file] of files) if (!existsSync(file)) throw new Error(`playground assets: ${url} should come from ${file}, which does not exist`);
  return files;
}

/** Headers that make the page cross-origin isolated, so WebAssembly engines may use threads. */
export const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export function playgroundAssets(): Plugin {
  let base = '/';
  return {
    name: 'bijective-playground-assets',
    configResolved(config) {
      base = config.base;
    },
    resolveId(id) {
      return id === VIRTUAL ? `\0${VIRTUAL}` : undefined;
    },
    load(id) {
      return id === `\0${VIRTUAL}` ? `export const checkpoints = ${JSON.stringify(checkpointEntries())};` : undefined;
    },
    configureServer(server) {
      const files = staticFiles();
      server.middlewares.use((req, res, next) => {
        const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
        const file = path.startsWith(base) ? files.get(path.slice(base.length)) : undefined;
        if (!file) return next();
        res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', ...ISOLATION_HEADERS });
        res.end(readFileSync(file));
      });
    },
    generateBundle() {
      for (const [fileName, file] of staticFiles()) this.emitFile({ type: 'asset', fileName, source: readFileSync(file) });
    },
  };
}
