#!/usr/bin/env node
// `npm test`: lint, type-check and test every project through Nx, then print one
// closing line summing up every Vitest run (CI reads "N passed, N failed").
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// Each project's Vitest run writes <project>/test-results/vitest.json (the test target's declared
// Nx output, so a cache hit restores it). Clear them first: a stale report must never be counted.
const projects = ['packages/core', 'packages/backend-tfjs', 'packages/backend-onnx', 'packages/models', 'apps/bench', 'apps/playground'];
const reportOf = (p) => join(root, p, 'test-results', 'vitest.json');
for (const p of projects) rmSync(join(root, p, 'test-results'), { recursive: true, force: true });
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };
const nx = spawnSync('npx', ['nx', 'run-many', '-t', 'lint', 'typecheck', 'test', '--outputStyle=stream', '--parallel=2', ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
});

let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const p of projects) {
  const file = reportOf(p);
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
