import { execFile, execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

// The packaging test (scripts/pack-test.mjs): build and `npm pack` the four packages, install the
// tarballs into a fresh folder offline, run the installed CLI, import every entry from Node and
// Vite-build a page from the browser entries. It runs as one child process; this file checks
// that it passed every step and shows its output when it did not.
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function npmVersion(): string | undefined {
  try {
    return execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

const npm = npmVersion();
const STEPS = ['build', 'npm pack', 'npm ci --offline', 'CLI', 'Node: import', 'TypeScript', 'Vite build'];

describe.skipIf(npm === undefined)(`npm pack, offline install and use of the packages${npm === undefined ? ' (skipped: npm is not on PATH)' : ''}`, () => {
  test('every step of scripts/pack-test.mjs passes', async () => {
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(process.execPath, [join(repoRoot, 'scripts', 'pack-test.mjs')], { cwd: repoRoot, timeout: 280_000, maxBuffer: 32 << 20 }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
      );
    });
    const last = output.trim().split('\n').pop() ?? '';
    let summary: { ok: boolean; steps: { name: string; seconds: number; detail?: string }[]; seconds: number } | undefined;
    try {
      summary = JSON.parse(last);
    } catch {
      summary = undefined;
    }
    expect(code, output).toBe(0);
    expect(summary?.ok, output).toBe(true);
    const names = summary!.steps.map((s) => s.name);
    for (const s of STEPS) expect(names.some((n) => n.startsWith(s)), `step '${s}' did not run:\n${output}`).toBe(true);
    console.log(output);
  });
});
