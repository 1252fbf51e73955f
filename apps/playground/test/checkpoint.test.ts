import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointError } from '@bijective/core';
import { loadCheckpoint } from '@bijective/core/node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetchCheckpoint } from '../src/checkpoint.js';

/**
 * The page's checkpoint loader over HTTP (Node's fetch and WebCrypto, as a browser has them)
 * against core's `loadCheckpoint` from disk: the same flow bit for bit, and the same refusals
 * of a damaged folder.
 */
const shipped = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'packages', 'models', 'checkpoints');

describe('fetchCheckpoint', () => {
  let root: string;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'bijective-fetch-'));
    for (const name of ['realnvp-2d', 'nsf-2d']) cpSync(join(shipped, name), join(root, name), { recursive: true });
    server = createServer((req, res) => {
      const file = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
      try {
        if (!file.startsWith(root)) throw new Error('outside');
        const body = readFileSync(file);
        res.writeHead(200);
        res.end(body);
      } catch {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    rmSync(root, { recursive: true, force: true });
  });

  for (const name of ['realnvp-2d', 'nsf-2d']) {
    test(`${name}: the same spec and parameters as loadCheckpoint, SHA-256 verified`, async () => {
      const got = await fetchCheckpoint(url, name);
      const want = await loadCheckpoint(join(shipped, name));
      expect(got.verified).toBe(true);
      expect(got.flow.spec).toEqual(want.flow.spec);
      expect(got.meta).toEqual(want.meta);
      expect(Object.keys(got.flow.params).sort()).toEqual(Object.keys(want.flow.params).sort());
      for (const [p, t] of Object.entries(want.flow.params)) {
        expect(got.flow.params[p]!.shape, p).toEqual(t.shape);
        const bytes = (d: Float32Array | Float64Array) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);
        expect(got.flow.params[p]!.data.constructor, p).toBe(t.data.constructor);
        expect(bytes(got.flow.params[p]!.data).equals(bytes(t.data)), p).toBe(true);
      }
    });
  }

  test('a flipped byte in the weights is refused by its SHA-256, a truncated file by its size', async () => {
    const flow = JSON.parse(readFileSync(join(root, 'nsf-2d', 'flow.json'), 'utf8')) as { weights: { file: string } };
    const weights = join(root, 'nsf-2d', flow.weights.file);
    const good = readFileSync(weights);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 3]! ^= 1;
    writeFileSync(weights, flipped);
    await expect(fetchCheckpoint(url, 'nsf-2d')).rejects.toThrow(/SHA-256 [0-9a-f]{12}…; flow\.json expects/);
    writeFileSync(weights, good.subarray(0, good.length - 8));
    await expect(fetchCheckpoint(url, 'nsf-2d')).rejects.toThrow(`has ${good.length - 8} bytes; flow.json expects ${good.length}`);
    writeFileSync(weights, good);
    await expect(fetchCheckpoint(url, 'nsf-2d')).resolves.toMatchObject({ name: 'nsf-2d', verified: true });
  });

  test('a missing checkpoint names the URL and the HTTP status; a foreign JSON is not a checkpoint', async () => {
    const missing = fetchCheckpoint(url, 'glow-nowhere');
    await expect(missing).rejects.toBeInstanceOf(CheckpointError);
    await expect(missing).rejects.toThrow(`${url}glow-nowhere/flow.json answered HTTP 404`);
    writeFileSync(join(root, 'realnvp-2d', 'flow.json.bak'), readFileSync(join(root, 'realnvp-2d', 'flow.json')));
    writeFileSync(join(root, 'realnvp-2d', 'flow.json'), JSON.stringify({ format: 'something-else' }));
    await expect(fetchCheckpoint(url, 'realnvp-2d')).rejects.toThrow('is not a Bijective checkpoint (format "something-else")');
    writeFileSync(join(root, 'realnvp-2d', 'flow.json'), readFileSync(join(root, 'realnvp-2d', 'flow.json.bak')));
  });
});
