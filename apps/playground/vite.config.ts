import { defineConfig, defaultClientConditions } from 'vite';
import { ISOLATION_HEADERS, playgroundAssets } from './assets-plugin.js';

/**
 * `vite` serves the playground, `vite build` writes static files to dist/ (relative URLs, so
 * the folder can be served from any path). The workspace packages are bundled from their
 * TypeScript sources (the `@bijective/source` condition), so no package build comes first.
 * Served cross-origin isolated, so the WebAssembly engines may use threads.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  resolve: { conditions: ['@bijective/source', ...defaultClientConditions] },
  plugins: [playgroundAssets()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4000 },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
});
