import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { loadCheckpoint } from '@bijective/core/node';
import { main } from '../src/cli/main.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bijective-safety-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Starts the CLI from source in a child; `onStdout` sees its output as it comes. */
function start(args: readonly string[], onStdout?: (text: string, kill: (s: NodeJS.Signals) => void) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=@bijective/source', '--import', 'tsx', join(packageRoot, 'src/cli/bin.ts'), ...args], { cwd: packageRoot, env: { ...process.env, BIJECTIVE_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, (s) => child.kill(s));
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function inProcess(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    return { code: await main(args), stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const common = (out: string) => ['train', '--preset', 'nice-2d', '--dataset', 'moons', '--batch', '64', '--eval-every', '1000', '--log-every', '1', '--quiet', '--out', out];

describe('train: one writer per run folder', () => {
  test('a live holder of train.lock is refused with its pid; a stale lock (dead pid) is taken over and released', async () => {
    const out = join(dir, 'locked');
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'train.lock'), `${process.ppid}\n`);
    const refused = await inProcess([...common(out), '--steps', '5']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`train: ${out} is in use by another run (pid ${process.ppid}`);
    expect(existsSync(join(out, 'flow.json'))).toBe(false);
    await writeFile(join(out, 'train.lock'), '2147483646\n');
    const taken = await inProcess([...common(out), '--steps', '5']);
    expect(taken.stderr).toBe('');
    expect(taken.code).toBe(0);
    expect(existsSync(join(out, 'train.lock'))).toBe(false);
  }, 120_000);
});

describe('train --resume keeps the run', () => {
  test('preset, dataset, data seed, batch and seed come from the checkpoint; a contradicting flag is refused by name', async () => {
    const out = join(dir, 'resume');
    const first = await inProcess(['train', '--preset', 'nice-2d', '--dataset', 'moons', '--data-seed', '4', '--batch', '32', '--seed', '3', '--steps', '4', '--eval-every', '100', '--quiet', '--out', out]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const again = await inProcess(['train', '--resume', '--steps', '8', '--quiet', '--out', out]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const { meta } = await loadCheckpoint(out);
    expect(meta).toMatchObject({ preset: 'nice-2d', dataset: 'moons', dataSeed: 4, run: { batch: 32, seed: 3, steps: 8 } });
    for (const [flag, value, saved] of [['--dataset', 'mixture', 'moons'], ['--batch', '64', '32'], ['--seed', '0', '3'], ['--data-seed', '1', '4'], ['--preset', 'realnvp-2d', 'nice-2d']] as const) {
      const refused = await inProcess(['train', '--resume', '--steps', '12', '--quiet', '--out', out, flag, value]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(`bijective: train --resume: ${flag} ${value} contradicts the checkpoint in ${out}, made with ${flag} ${saved}; drop ${flag} (a resumed run keeps it)\n`);
    }
  }, 120_000);

  test('--resume alone continues the same schedule (steps, lr, warm-up, decay, clipping): bit-identical to an uninterrupted run', async () => {
    // A schedule unlike the preset's defaults (nice-2d: lr 1e-3, no decay, 5000 steps): a resume
    // that fell back to them would change the cosine length, the peak rate and the clipping.
    const flags = ['--preset', 'nice-2d', '--dataset', 'moons', '--batch', '32', '--steps', '30', '--lr', '3e-3', '--warmup', '4', '--decay', 'cosine', '--clip-grad-norm', '0.5', '--checkpoint-every', '10', '--eval-every', '100', '--quiet'];
    const whole = join(dir, 'schedule-whole');
    const split = join(dir, 'schedule-split');
    expect((await inProcess(['train', ...flags, '--out', whole])).code).toBe(0);
    expect((await inProcess(['train', ...flags, '--max-minutes', '1e-9', '--out', split])).code).toBe(0);
    expect((await loadCheckpoint(split)).meta).toMatchObject({ training: { step: expect.any(Number) } });
    expect(((await loadCheckpoint(split)).meta as { training: { step: number } }).training.step).toBeLessThan(30);
    const resumed = await inProcess(['train', '--resume', '--quiet', '--out', split]);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const a = await loadCheckpoint(whole);
    const b = await loadCheckpoint(split);
    expect(b.meta).toMatchObject({ run: { steps: 30, lr: 3e-3, warmup: 4, decay: 'cosine', clipGradNorm: 0.5 }, training: { step: 30 } });
    for (const [name, p] of Object.entries(a.flow.params)) expect(Array.from(b.flow.params[name]!.data), name).toEqual(Array.from(p.data));
  }, 120_000);
});

describe('train: signals and crashes', () => {
  for (const [sig, code] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    test(`${sig} stops after the step, saves a checkpoint and exits ${code}`, async () => {
      const out = join(dir, sig);
      let sent = false;
      const run = await start([...common(out), '--steps', '1000000', '--checkpoint-every', '1000000'], (text, kill) => {
        if (!sent && /step \d+/.test(text)) {
          sent = true;
          kill(sig);
        }
      });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(code);
      expect(run.stdout).toMatch(/stopped after \d+ steps/);
      const { meta } = await loadCheckpoint(out);
      expect((meta.training as { step: number }).step).toBeGreaterThan(0);
    }, 180_000);
  }

  test('random SIGKILLs during a run: every time the folder loads and --resume continues to the end', async () => {
    const out = join(dir, 'killed');
    const args = [...common(out), '--steps', '2000', '--checkpoint-every', '7'];
    let resume = false;
    let kills = 0;
    let rng = 12345;
    for (let round = 0; round < 4; round++) {
      rng = (rng * 1103515245 + 12345) % 2147483648;
      const after = 1 + (rng % 6); // progress lines (one per 100 steps)
      let killed = false;
      const run = await start([...args, ...(resume ? ['--resume'] : [])], (text, kill) => {
        const steps = (text.match(/step \d+/g) ?? []).length;
        if (!killed && steps >= after) {
          killed = true;
          kill('SIGKILL');
        }
      });
      if (run.code === 0) break;
      expect(run.signal, run.stderr).toBe('SIGKILL');
      kills++;
      if (existsSync(join(out, 'flow.json'))) {
        await loadCheckpoint(out);
        resume = true;
      }
      expect((await readdir(out)).filter((n) => n.startsWith('flow') && n !== 'flow.json')).toEqual([]);
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    const last = await start([...args, ...(resume ? ['--resume'] : [])]);
    expect(last.stderr).toBe('');
    expect(last.code).toBe(0);
    expect(last.stdout).toMatch(/done after 2000 steps/);
  }, 300_000);
});

describe('integer flags', () => {
  test.each([['--steps', '0x5'], ['--seed', ''], ['--steps', '1e3'], ['--batch', ' '], ['--seed', '0b11']])('%s %j is refused', async (flag, value) => {
    const r = await inProcess(['train', '--preset', 'nice-2d', '--out', join(dir, 'never'), flag, value]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`expected an integer >= `);
    expect(r.stderr).toContain(`got '${value}'`);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});
