#!/usr/bin/env node
// The `bijective` executable. Installed from npm it runs the compiled CLI (`dist/cli/bin.js`).
// In the repo (where `src/` is present and nothing need be built) it runs the TypeScript
// source through tsx with the `@bijective/source` condition, so `npx bijective` works right
// after `npm ci`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'cli', 'bin.ts');

function tsxLoader() {
  try {
    return createRequire(join(root, 'package.json')).resolve('tsx');
  } catch {
    return undefined;
  }
}

const tsx = existsSync(source) ? tsxLoader() : undefined;
if (tsx === undefined) {
  await import(pathToFileURL(join(root, 'dist', 'cli', 'bin.js')).href);
} else {
  const child = spawn(process.execPath, ['--conditions=@bijective/source', '--import', pathToFileURL(tsx).href, source, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
}
