import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from './helpers.js';

const ENGINE = 'tfjs-wasm';

async function weightsBytes(dir: string): Promise<Buffer> {
  const file = (await readdir(dir)).find((f) => /^weights\..*safetensors$/.test(f));
  return readFile(join(dir, file!));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function meta(dir: string): Promise<Json> {
  return (JSON.parse(await readFile(join(dir, 'flow.json'), 'utf8')) as { meta: Json }).meta;
}

describe('bijective distill (maf-2d teacher → iaf-2d student on the 2-D mixture)', () => {
  let root: string;
  let teacher: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'distill-'));
    teacher = join(root, 'teacher');
    // 600 steps of batch 256 reach a teacher test NLL near 3.3 nats (the shipped 5000-step one: 3.26).
    const t = await runCliInProcess(['train', '--preset', 'maf-2d', '--dataset', 'mixture', '--engine', ENGINE, '--steps', '600', '--batch', '256', '--decay', 'cosine', '--eval-every', '600', '--quiet', '--out', teacher]);
    expect(t.code, t.stderr).toBe(0);
  }, 120_000);

  it('distils a student close to its teacher, records the teacher, and stores the evaluation', async () => {
    const out = join(root, 'student');
    const r = await runCliInProcess(['distill', '--teacher', teacher, '--student', 'iaf-2d', '--engine', ENGINE, '--steps', '1500', '--batch', '256', '--decay', 'cosine', '--kl-samples', '20000', '--quiet', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const m = await meta(out);
    const teacherMeta = await meta(teacher);
    expect(m.teacher.path).toBe(teacher);
    expect(m.teacher.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(await readFile(join(teacher, 'flow.json'), 'utf8')).weights.sha256).toBe(m.teacher.weightsSha256);
    const { kl, test } = m.metrics;
    // The thresholds (KL < 0.02 nats, NLL within 0.05) are not reached in a test-sized run:
    // this one (600-step teacher, 1500-step student) measured KL 0.096 ± 0.003 and an NLL gap of
    // 0.10 nats; the full-size 5000-step run is reported in the README. A student that does not
    // learn (wrong gradients, teacher not fed) stays near its initial KL of about 1 nat and an NLL
    // gap of hundreds of nats (measured after 100 steps: KL 0.91, student NLL 1086).
    expect(kl.value).toBeLessThan(0.2);
    expect(kl.value).toBeGreaterThan(-3 * kl.stdErr); // a KL estimate is not significantly negative
    expect(Math.abs(test.student.nll - test.teacher.nll)).toBeLessThan(0.25);
    expect(test.teacher.nll).toBeCloseTo(teacherMeta.metrics.test.nll, 6);
    expect(m.metrics.samplingMs.student.batch64).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/KL\(student ‖ teacher\) [\d.-]+ ± [\d.]+ nats/);
  }, 400_000);

  it('--resume is bit-identical to an uninterrupted run (with the forward term, its own noise stream, the path gradient and the pair term\'s data batches)', async () => {
    const whole = join(root, 'whole');
    const split = join(root, 'split');
    const common = ['--teacher', teacher, '--student', 'iaf-2d', '--engine', ENGINE, '--batch', '64', '--seed', '5', '--forward-weight', '0.5', '--path-gradient', '--pair-weight', '0.25', '--kl-samples', '100', '--test-examples', '300', '--checkpoint-every', '20', '--quiet'];
    expect((await runCliInProcess(['distill', ...common, '--steps', '60', '--out', whole])).code).toBe(0);
    expect((await runCliInProcess(['distill', ...common, '--steps', '60', '--max-minutes', '1e-9', '--out', split])).code).toBe(0);
    const stopped = await meta(split);
    expect(stopped.training.step).toBeLessThan(60);
    const resumed = await runCliInProcess(['distill', '--resume', '--engine', ENGINE, '--steps', '60', '--kl-samples', '100', '--checkpoint-every', '20', '--quiet', '--out', split]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await meta(split)).training.step).toBe(60);
    expect((await meta(split)).forwardWeight).toBe(0.5);
    expect((await meta(split)).pathGradient).toBe(true);
    expect((await meta(split)).pairWeight).toBe(0.25);
    expect((await meta(whole)).metrics.test.student.n).toBe(300);
    expect((await weightsBytes(split)).equals(await weightsBytes(whole))).toBe(true);
    // Resuming a finished run runs no step and evaluates again (it used to throw on the empty loss).
    const again = await runCliInProcess(['distill', '--resume', '--engine', ENGINE, '--kl-samples', '100', '--test-examples', '300', '--quiet', '--out', whole]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^done after 60 steps/m);
    expect((await weightsBytes(whole)).equals(await weightsBytes(split))).toBe(true);
    const contradicting = await runCliInProcess(['distill', '--resume', '--forward-weight', '2', '--engine', ENGINE, '--steps', '80', '--quiet', '--out', split]);
    expect(contradicting.code).not.toBe(0);
    expect(contradicting.stderr).toMatch(/--forward-weight 2 contradicts the checkpoint .* made with --forward-weight 0\.5; drop --forward-weight/);
    const pairContradicting = await runCliInProcess(['distill', '--resume', '--pair-weight', '1', '--engine', ENGINE, '--steps', '80', '--quiet', '--out', split]);
    expect(pairContradicting.code).not.toBe(0);
    expect(pairContradicting.stderr).toMatch(/--pair-weight 1 contradicts the checkpoint .* made with --pair-weight 0\.25; drop --pair-weight/);
    // A run made without the path gradient refuses to resume with it.
    const plain = join(root, 'plain');
    expect((await runCliInProcess(['distill', '--teacher', teacher, '--student', 'iaf-2d', '--engine', ENGINE, '--steps', '3', '--kl-samples', '10', '--quiet', '--out', plain])).code).toBe(0);
    const withPath = await runCliInProcess(['distill', '--resume', '--path-gradient', '--engine', ENGINE, '--steps', '6', '--quiet', '--out', plain]);
    expect(withPath.code).not.toBe(0);
    expect(withPath.stderr).toMatch(/--path-gradient contradicts the checkpoint .* made without it; drop --path-gradient/);
  }, 180_000);

  it('refuses a missing teacher, a corrupt teacher and an event-shape mismatch, writing nothing', async () => {
    const out = join(root, 'refused');
    const missing = await runCliInProcess(['distill', '--teacher', join(root, 'nope'), '--student', 'iaf-2d', '--quiet', '--out', out]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/distill: the teacher --teacher .*nope cannot be loaded: no checkpoint at .*nope: expected a folder with flow.json/);

    const spec = join(root, 'student-3d.json');
    const { presets } = await import('../src/presets/registry.js');
    await writeFile(spec, JSON.stringify(presets['iaf-2d']!.specForDim!(3)));
    const shape = await runCliInProcess(['distill', '--teacher', teacher, '--student', spec, '--quiet', '--out', out]);
    expect(shape.code).not.toBe(0);
    expect(shape.stderr).toMatch(/distill: the student .*student-3d.json models events of shape \[3\], the teacher .* \[2\]; expected a student of the teacher's event shape/);

    const corrupt = join(root, 'corrupt');
    await runCliInProcess(['train', '--preset', 'maf-2d', '--engine', ENGINE, '--steps', '2', '--quiet', '--out', corrupt]);
    const w = (await readdir(corrupt)).find((f) => /^weights\..*safetensors$/.test(f))!;
    const bytes = await readFile(join(corrupt, w));
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
    await writeFile(join(corrupt, w), bytes);
    const bad = await runCliInProcess(['distill', '--teacher', corrupt, '--student', 'iaf-2d', '--quiet', '--out', out]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/distill: the teacher --teacher .*corrupt cannot be loaded: .* does not match flow.json .*SHA-256/);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('--resume refuses a teacher whose weights changed', async () => {
    const t2 = join(root, 'teacher2');
    const out = join(root, 'changed');
    expect((await runCliInProcess(['train', '--preset', 'maf-2d', '--engine', ENGINE, '--steps', '3', '--quiet', '--out', t2])).code).toBe(0);
    expect((await runCliInProcess(['distill', '--teacher', t2, '--student', 'iaf-2d', '--engine', ENGINE, '--steps', '3', '--kl-samples', '10', '--quiet', '--out', out])).code).toBe(0);
    // Train the teacher further: its weights (and their hash) change.
    expect((await runCliInProcess(['train', '--resume', '--engine', ENGINE, '--steps', '5', '--quiet', '--out', t2])).code).toBe(0);
    const r = await runCliInProcess(['distill', '--resume', '--engine', ENGINE, '--steps', '6', '--quiet', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/distill --resume: the teacher .*teacher2 has changed: its weights have SHA-256 [0-9a-f]{12}…, the run was distilled from [0-9a-f]{12}…; expected the same teacher/);
  }, 60_000);

  it('--resume refuses a --batch or --seed that contradicts the checkpoint, by name, and accepts the recorded value', async () => {
    const t3 = join(root, 'teacher3');
    const out = join(root, 'kept');
    expect((await runCliInProcess(['train', '--preset', 'maf-2d', '--engine', ENGINE, '--steps', '3', '--quiet', '--out', t3])).code).toBe(0);
    expect((await runCliInProcess(['distill', '--teacher', t3, '--student', 'iaf-2d', '--engine', ENGINE, '--steps', '3', '--batch', '32', '--seed', '5', '--kl-samples', '10', '--quiet', '--out', out])).code).toBe(0);
    for (const [flag, value, was] of [['--batch', '64', '32'], ['--seed', '6', '5']] as const) {
      const r = await runCliInProcess(['distill', '--resume', flag, value, '--engine', ENGINE, '--steps', '4', '--kl-samples', '10', '--quiet', '--out', out]);
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr).toContain(`distill --resume: ${flag} ${value} contradicts the checkpoint in ${out}, made with ${flag} ${was}; drop ${flag}`);
    }
    const ok = await runCliInProcess(['distill', '--resume', '--batch', '32', '--seed', '5', '--engine', ENGINE, '--steps', '4', '--kl-samples', '10', '--quiet', '--out', out]);
    expect(ok.code, ok.stderr).toBe(0);
  }, 60_000);
});
