import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError, createFlow, decodeSafetensors, encodeSafetensors, type FlowSpec } from '../src/index.js';
import { loadCheckpoint, saveCheckpoint, writeFileAtomic } from '../src/node/index.js';
import { randomFlow } from './helpers.js';

const spec: FlowSpec = {
  version: 1,
  event: [4],
  layers: [
    { type: 'additiveCoupling', mask: 'half', parity: 0, conditioner: { type: 'mlp', hidden: [5] } },
    { type: 'scale' },
  ],
};

const here = dirname(fileURLToPath(import.meta.url));
const weightsPath = async (dir: string) => join(dir, (JSON.parse(await readFile(join(dir, 'flow.json'), 'utf8')) as { weights: { file: string } }).weights.file);

const dirs: string[] = [];
async function tmp() {
  const d = await mkdtemp(join(tmpdir(), 'bijective-ckpt-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('safetensors', () => {
  it('writes the standard layout: u64 LE header length, JSON header, raw LE float32', () => {
    const bytes = encodeSafetensors({ b: { data: Float32Array.of(1.5, -2), shape: [2] }, a: { data: Float32Array.of(0.25), shape: [1, 1] } });
    const view = new DataView(bytes.buffer);
    const n = Number(view.getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.a).toEqual({ dtype: 'F32', shape: [1, 1], data_offsets: [0, 4] });
    expect(header.b).toEqual({ dtype: 'F32', shape: [2], data_offsets: [4, 12] });
    expect(bytes.length).toBe(8 + n + 12);
    expect(view.getFloat32(8 + n, true)).toBe(0.25);
    expect(view.getFloat32(8 + n + 8, true)).toBe(-2);
    const back = decodeSafetensors(bytes);
    expect(Array.from(back.tensors.b!.data)).toEqual([1.5, -2]);
  });

  it('refuses truncated and inconsistent files with what is wrong', () => {
    const bytes = encodeSafetensors({ w: { data: new Float32Array(6), shape: [2, 3] } });
    expect(() => decodeSafetensors(bytes.subarray(0, 5))).toThrow(/too short/);
    expect(() => decodeSafetensors(bytes.subarray(0, 30))).toThrow(/truncated/);
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4))).toThrow(/tensor 'w' ends at byte 24 of a 20-byte data section/);
    const bad = new Uint8Array(bytes);
    bad[8] = 0x7b + 1; // '{' -> '|'
    expect(() => decodeSafetensors(bad)).toThrow(/not valid JSON/);
  });
});

describe('checkpoints', () => {
  it('round-trips spec and parameters bit-identically', async () => {
    const dir = await tmp();
    const flow = randomFlow(spec, 3);
    await saveCheckpoint(dir, flow, { step: 12, metrics: { nll: 1.25 } });
    const { flow: back, meta } = await loadCheckpoint(dir);
    expect(back.spec).toEqual(flow.spec);
    expect(meta).toEqual({ step: 12, metrics: { nll: 1.25 } });
    for (const [k, p] of Object.entries(flow.params)) {
      expect(Buffer.from(back.params[k]!.data.buffer).equals(Buffer.from(p.data.buffer)), k).toBe(true);
    }
    const names = (await readdir(dir)).sort();
    expect(names).toHaveLength(2);
    expect(names[0]).toBe('flow.json');
    expect(names[1]).toMatch(/^weights\.[0-9a-f]{16}\.safetensors$/);
  });

  it('refuses a missing folder, a truncated or swapped weights file, and a spec that does not match the weights', async () => {
    await expect(loadCheckpoint(join(tmpdir(), 'bijective-no-such-dir'))).rejects.toThrow(/no checkpoint at .*bijective-no-such-dir/);
    const dir = await tmp();
    await saveCheckpoint(dir, createFlow(spec, { seed: 1 }));
    const weights = await weightsPath(dir);
    const good = await readFile(weights);
    await truncate(weights, 100);
    await expect(loadCheckpoint(dir)).rejects.toThrow(/does not match flow\.json.*truncated/);

    const other = await tmp();
    await saveCheckpoint(other, createFlow(spec, { seed: 2 }));
    await writeFile(weights, await readFile(await weightsPath(other)));
    await expect(loadCheckpoint(dir)).rejects.toThrow(CheckpointError);

    await writeFile(weights, good);
    const file = JSON.parse(await readFile(join(dir, 'flow.json'), 'utf8'));
    file.spec.layers[0].conditioner.hidden = [6];
    await writeFile(join(dir, 'flow.json'), JSON.stringify(file));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/inconsistent: parameter 'layers\.0\.conditioner\.w0' has shape \[2, 5\], the spec declares \[2, 6\]/);

    await writeFile(join(dir, 'flow.json'), '{"format": "something-else"}');
    await expect(loadCheckpoint(dir)).rejects.toThrow(/not a Bijective checkpoint/);
  });

  it('writes atomically: a failed write leaves the old file and no temp file', async () => {
    const dir = await tmp();
    const path = join(dir, 'a.txt');
    await writeFileAtomic(path, 'old');
    // Writing a file "inside" a regular file fails; the old content must survive.
    await expect(writeFileAtomic(join(path, 'x'), 'new')).rejects.toThrow();
    expect(await readFile(path, 'utf8')).toBe('old');
    await writeFileAtomic(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['a.txt']);
  });

  it('refuses a weights file outside the folder and a missing weights hash (no skipped check)', async () => {
    const dir = await tmp();
    await saveCheckpoint(dir, createFlow(spec, { seed: 1 }));
    const file = JSON.parse(await readFile(join(dir, 'flow.json'), 'utf8'));
    await writeFile(join(dir, 'flow.json'), JSON.stringify({ ...file, weights: { ...file.weights, file: '../x.safetensors' } }));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/weights\.file must name a file inside the checkpoint folder, got "\.\.\/x\.safetensors"/);
    await writeFile(join(dir, 'flow.json'), JSON.stringify({ ...file, weights: { file: file.weights.file, bytes: file.weights.bytes } }));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/weights\.sha256 is missing/);
    const { weights: _w, ...noWeights } = file;
    await writeFile(join(dir, 'flow.json'), JSON.stringify(noWeights));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/weights is missing/);
  });

  it('saves one atomic unit: killed after every single write/rename/removal, the folder loads to the old or the new save; orphans are cleaned', async () => {
    const dir = await tmp();
    const script = join(dir, 'save.mts');
    const ckpt = join(dir, 'ckpt');
    await writeFile(
      script,
      `import { createFlow } from ${JSON.stringify(join(here, '../src/index.ts'))};
import { saveCheckpoint } from ${JSON.stringify(join(here, '../src/node/index.ts'))};
const step = Number(process.argv[2]);
const extra = new TextEncoder().encode('optimizer of step ' + step);
await saveCheckpoint(${JSON.stringify(ckpt)}, createFlow(${JSON.stringify(spec)}, { seed: step }), { step }, { files: () => ({ 'optimizer.safetensors': extra }) });
`,
    );
    const save = (step: number, killAfter: number) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, String(step)], { env: { ...process.env, BIJECTIVE_FAULT_KILL_AFTER: String(killAfter) }, stdio: ['ignore', 'ignore', 'inherit'] });
        child.on('exit', (code, signal) => resolve(signal === 'SIGKILL' ? null : code));
      });
    expect(await save(1, 0)).toBe(0);
    let step = 1;
    let killed = 0;
    // Each save makes 3 writes (weights, optimizer, flow.json: temp written, renamed) and removes 2 old files.
    for (let k = 1; ; k++) {
      const code = await save(step + 1, k);
      const { meta, files } = await loadCheckpoint(ckpt);
      const at = meta.step as number;
      expect([step, step + 1]).toContain(at);
      expect(new TextDecoder().decode(files['optimizer.safetensors'])).toBe(`optimizer of step ${at}`);
      step = at;
      if (code === 0) break;
      expect(code).toBeNull();
      killed++;
    }
    expect(killed).toBeGreaterThanOrEqual(8);
    // A clean save removes whatever the crashed ones left.
    expect(await save(step + 1, 0)).toBe(0);
    expect((await readdir(ckpt)).sort()).toHaveLength(3);
  }, 120_000);
});
