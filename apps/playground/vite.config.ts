import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { defineConfig, defaultClientConditions, searchForWorkspaceRoot } from 'vite';
import { ISOLATION_HEADERS, playgroundAssets } from './assets-plugin.js';

/**
 * `vite` serves the playground, `vite build` writes static files to dist/ (relative URLs, so
 * the folder can be served from any path). The workspace packages are bundled from their
 * TypeScript sources (the `@bijective/source` condition), so no package build comes first.
 * Served cross-origin isolated, so the WebAssembly engines may use threads. The dev server may
 * also read onnxruntime-web's folder, wherever node_modules really lives (a linked one included):
 * its bundle fetches its `.wasm` from there.
 */
const ortDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  resolve: { conditions: ['@bijective/source', ...defaultClientConditions] },
  plugins: [playgroundAssets()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4000 },
  server: { headers: ISOLATION_HEADERS, fs: { allow: [searchForWorkspaceRoot(import.meta.dirname), dirname(ortDir)] } },
  preview: { headers: ISOLATION_HEADERS },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
});
