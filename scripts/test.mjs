#!/usr/bin/env node
// `npm test`: lint, type-check and test every project through Nx, then print one
// closing line summing up every Vitest run (CI reads "N passed, N failed").
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const resultsDir = join(root, 'test-results');
rmSync(resultsDir, { recursive: true, force: true });
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };
const nx = spawnSync('npx', ['nx', 'run-many', '-t', 'lint', 'typecheck', 'test', '--outputStyle=stream', '--parallel=2', ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
});

const projects = ['core', 'backend-tfjs', 'backend-onnx', 'models', 'bench'];
let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const p of projects) {
  const file = join(resultsDir, `${p}.json`);
  if (!existsSync(file)) {
    missing.push(p);
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
}
if (missing.length) console.log(`no test report from: ${missing.join(', ')} (a failing lint/typecheck stops its tests)`);
const ok = nx.status === 0 && failed === 0 && missing.length === 0;
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(ok ? 0 : 1);
