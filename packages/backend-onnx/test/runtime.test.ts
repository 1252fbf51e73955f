import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { InputError, VERSION, engineStatus as coreEngineStatus, openRuntime, referenceRuntime } from '@bijective/core';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, test } from 'vitest';
import {
  EngineUnavailableError,
  METADATA_KEYS,
  OnnxModelError,
  defaultSessionOptions,
  exportOnnx,
  inspectModel,
  listEngines,
  ortRuntime,
  writeOnnx,
} from '../src/node.js';
import { DataType, NameScope, OnnxGraph, encodeModel, valueInfo } from '../src/model.js';
import { onnx } from '../src/proto.js';
import { randomFlow, randomTensor, toleranceRatio } from './helpers.js';
import { SPEC_CASES } from './specs.js';

const multiScale = SPEC_CASES.find((c) => c.name.startsWith('multi-scale'))!.spec;
const flow = randomFlow(multiScale, 3, 0.05);
const models = exportOnnx(flow, { metrics: { bitsPerDim: 1.25, epochs: 3 } });
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'bijective-onnx-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('engines', () => {
  test('listEngines reports every engine, with the reason each unavailable one cannot run', async () => {
    const statuses = await listEngines();
    expect(statuses.map((s) => s.engine)).toEqual(['ort-node-cpu', 'ort-node-cuda', 'ort-node-tensorrt', 'ort-node-webgpu', 'ort-web-wasm', 'ort-web-webgpu']);
    const by = Object.fromEntries(statuses.map((s) => [s.engine, s]));
    expect(by['ort-node-cpu']!.available).toBe(true);
    expect(by['ort-web-wasm']!.available).toBe(true);
    expect(by['ort-web-webgpu']).toMatchObject({ available: false, reason: expect.stringMatching(/browser/) });
    const bin = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
    for (const [engine, ep] of [['ort-node-cuda', 'cuda'], ['ort-node-tensorrt', 'tensorrt']] as const) {
      if (!existsSync(join(bin, `libonnxruntime_providers_${ep}.so`))) {
        expect(by[engine]).toMatchObject({
          available: false,
          reason: expect.stringMatching(/^not installed: .*npm install --onnxruntime-node-install=cuda12/),
          install: 'npm install --onnxruntime-node-install=cuda12',
        });
      }
    }
    for (const s of statuses) {
      expect(s.family, s.engine).toBe('ort');
      // Core's status shape: a reason when unavailable, a description of what runs when available.
      expect((s.available ? s.detail : s.reason)?.length ?? 0, s.engine).toBeGreaterThan(10);
      expect(s.available ? s.reason : s.detail, s.engine).toBeUndefined();
    }
  });

  test("the ort engines are registered with core's engine seam: same statuses, runtimes that match the reference", async () => {
    expect(await coreEngineStatus('ort-node-cpu')).toMatchObject({ engine: 'ort-node-cpu', family: 'ort', available: true });
    expect(await coreEngineStatus('ort-web-webgpu')).toMatchObject({ available: false, reason: expect.stringMatching(/browser/) });
    await expect(openRuntime(flow, 'ort-web-webgpu')).rejects.toThrow(EngineUnavailableError);
    const rt = await openRuntime(flow, 'ort-node-cpu');
    const x = randomTensor([3, ...multiScale.event], 5);
    const got = await rt.logProb(x);
    const want = await referenceRuntime(flow).logProb(x);
    for (let i = 0; i < 3; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-3 * Math.max(1, Math.abs(want[i]!)));
    await rt.dispose();
  });

  test('asking for an unavailable engine says why and lists the available ones', async () => {
    const err = await ortRuntime(models, { engine: 'ort-web-webgpu' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineUnavailableError);
    expect((err as Error).message).toMatch(/'ort-web-webgpu' is not available: .*browser.*Available here: ort-node-cpu, .*ort-web-wasm/);
    const unknown = await ortRuntime(models, { engine: 'ort-node-tpu' as never }).catch((e: unknown) => e);
    expect((unknown as Error).message).toMatch(/unknown engine; the engines are ort-node-cpu, ort-node-cuda/);
  });

  test('session options default to every core and full graph optimisation, and can be overridden', () => {
    expect(defaultSessionOptions('ort-node-cpu')).toMatchObject({ executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
    expect(defaultSessionOptions('ort-node-cpu').intraOpNumThreads).toBeGreaterThanOrEqual(1);
    expect(defaultSessionOptions('ort-node-cuda', { intraOpNumThreads: 1, graphOptimizationLevel: 'basic' })).toMatchObject({
      executionProviders: ['cuda'],
      intraOpNumThreads: 1,
      graphOptimizationLevel: 'basic',
    });
  });
});

describe('loading and validating models', () => {
  test('a corrupt, truncated or empty file is refused with a clear error', async () => {
    const garbage = Uint8Array.from({ length: 300 }, (_, i) => (i * 97 + 13) % 256);
    await expect(ortRuntime(garbage)).rejects.toThrow(OnnxModelError);
    await expect(ortRuntime(garbage)).rejects.toThrow(/model: not a readable ONNX model, the file is corrupt or truncated/);
    const truncated = models.logProb.slice(0, Math.floor(models.logProb.length / 2));
    await expect(ortRuntime({ logProb: truncated })).rejects.toThrow(/log_prob model: not a readable ONNX model.*corrupt or truncated/);
    await expect(ortRuntime(new Uint8Array(0))).rejects.toThrow(/the file is empty/);
  });

  test('a flipped byte in the weights is refused by the initializers checksum in metadata_props', async () => {
    const model = onnx.ModelProto.decode(models.logProb);
    expect(model.metadataProps.find((p) => p.key === 'bijective.initializers_crc32')?.value).toMatch(/^[0-9a-f]{8}$/);
    const weight = (model.graph?.initializer ?? []).find((t) => (t.rawData?.length ?? 0) >= 32)!;
    const at = Buffer.from(models.logProb).indexOf(Buffer.from(weight.rawData!.subarray(0, 32)));
    expect(at).toBeGreaterThan(0);
    const flipped = new Uint8Array(models.logProb);
    flipped[at + 5]! ^= 0x10;
    await expect(ortRuntime({ logProb: flipped })).rejects.toThrow(/log_prob model: the weights are corrupt: the initializers' CRC-32 is [0-9a-f]{8}, the file's metadata 'bijective.initializers_crc32' records [0-9a-f]{8}/);
    await (await ortRuntime(models)).dispose();
  });

  test("an output whose shape is not the declared event's is refused: declared in the file, or computed by the graph", async () => {
    const event = inspectModel(models.sample).event;
    // Declared: the sample model's 'x' output says [N, event + 1].
    const declared = onnx.ModelProto.decode(models.sample);
    const x = (declared.graph as onnx.GraphProto).output.find((o) => o.name === 'x')!;
    const last = x.type!.tensorType!.shape!.dim![event.length]!;
    last.dimValue = event[event.length - 1]! + 1;
    const bytes = new Uint8Array(onnx.ModelProto.encode(declared).finish());
    expect(() => inspectModel(bytes, 'sample.onnx')).toThrow(new RegExp(`sample.onnx: output 'x' \\[N, .*${event[event.length - 1]! + 1}\\] does not match the spec's event: expected \\[N, ${event.join(', ')}\\]`));
    // Computed: the graph's last node writes x twice side by side ([N, 2·D]) with no declared shape.
    const computed = onnx.ModelProto.decode(models.sample);
    const g = computed.graph as onnx.GraphProto;
    const producer = g.node.find((n) => n.output?.includes('x')) as onnx.NodeProto;
    producer.output = producer.output.map((o) => (o === 'x' ? 'x_single' : o));
    g.node.push(onnx.NodeProto.create({ opType: 'Concat', input: ['x_single', 'x_single'], output: ['x'], name: 'doubled', attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] }));
    g.output.find((o) => o.name === 'x')!.type!.tensorType!.shape = null;
    const rt = await ortRuntime({ sample: new Uint8Array(onnx.ModelProto.encode(computed).finish()) });
    try {
      await expect(rt.sample({ n: 3, seed: 1 })).rejects.toThrow(new RegExp(`sample model: output 'x' is float32 \\[3, ${2 * event[0]!}.*\\], the spec's event makes it float32 \\[3, ${event.join(', ')}\\] for 3 inputs`));
    } finally {
      await rt.dispose();
    }
    const good = await ortRuntime(models);
    expect((await good.sample({ n: 3, seed: 1 })).data.length).toBe(3 * event.reduce((a, b) => a * b, 1));
    await good.dispose();
  });

  test("a model whose inputs are not a Bijective flow's is refused, naming what it has", async () => {
    const g = new OnnxGraph(new NameScope(), 'classifier');
    g.inputs.push(valueInfo('image', DataType.FLOAT, ['batch', 3, 224, 224]));
    g.node('Relu', ['image'], {}, ['logits']);
    g.outputs.push(valueInfo('logits', DataType.FLOAT, ['batch', 3, 224, 224]));
    const foreign = encodeModel(g.toProto(), { producerVersion: '1' });
    await expect(ortRuntime(foreign)).rejects.toThrow(/not a Bijective flow model.*inputs 'image' \[batch, 3, 224, 224\] and outputs 'logits'/);
  });

  test('the two models must come from the same flow', async () => {
    const other = exportOnnx(randomFlow(SPEC_CASES[0]!.spec, 1, 0.05));
    await expect(ortRuntime({ logProb: models.logProb, sample: other.sample })).rejects.toThrow(/exported from different flows/);
  });

  test('wrong input shape, dtype or values: an InputError naming the tensor and the expected shape', async () => {
    const rt = await ortRuntime(models);
    try {
      const bad = randomTensor([2, 1, 8, 7], 1);
      const err = await rt.logProb(bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toBe('logProb: x: shape [2, 1, 8, 7], expected [N, 1, 8, 8] with N >= 1');
      await expect(rt.decode({ data: new Float32Array(64), shape: [64] })).rejects.toThrow(/decode: z: shape \[64\], expected \[N, 1, 8, 8\]/);
      await expect(rt.encode({ data: new Int32Array(64) as never, shape: [1, 1, 8, 8] })).rejects.toThrow(/encode: x: data must be a Float32Array or Float64Array, got Int32Array/);
      const nan = new Float32Array(64);
      nan[5] = NaN;
      await expect(rt.logProb({ data: nan, shape: [1, 1, 8, 8] })).rejects.toThrow(/value at \[0, 0, 0, 5\] is NaN/);
      await expect(rt.sample({ n: 0 })).rejects.toThrow(InputError);
    } finally {
      await rt.dispose();
    }
  });

  test('a runtime with one model runs its direction and says what the other needs', async () => {
    const rt = await ortRuntime(models.logProb);
    try {
      expect((await rt.logProb(randomTensor([2, 1, 8, 8], 4))).length).toBe(2);
      await expect(rt.sample({ n: 1 })).rejects.toThrow(/sample needs the sample\.onnx model, which was not loaded/);
    } finally {
      await rt.dispose();
    }
  });
});

describe('files', () => {
  test('writeOnnx writes both files atomically, and the directory or a file loads back', async () => {
    const dir = tempDir();
    const paths = await writeOnnx(dir, flow);
    expect(readdirSync(dir).sort()).toEqual(['log_prob.onnx', 'sample.onnx']);
    expect(new Uint8Array(readFileSync(paths.logProb))).toEqual(exportOnnx(flow).logProb);
    const x = randomTensor([3, 1, 8, 8], 9);
    const expected = await referenceRuntime(flow).logProb(x);
    const fromDir = await ortRuntime(dir);
    const fromFile = await ortRuntime(paths.logProb);
    try {
      expect(toleranceRatio(await fromDir.logProb(x), expected, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
      expect(toleranceRatio(await fromFile.logProb(x), expected, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
      expect(Object.keys(fromDir.models).sort()).toEqual(['log_prob', 'sample']);
    } finally {
      await fromDir.dispose();
      await fromFile.dispose();
    }
    await expect(ortRuntime(join(dir, 'missing'))).rejects.toThrow(/missing: no such file or directory/);
  });

  test('metadata_props carry the spec, the library version and the metrics', () => {
    for (const [bytes, role] of [[models.logProb, 'log_prob'], [models.sample, 'sample']] as const) {
      const info = inspectModel(bytes);
      expect(info.role).toBe(role);
      expect(info.spec).toEqual(flow.spec);
      expect(info.version).toBe(VERSION);
      expect(info.metrics).toEqual({ bitsPerDim: 1.25, epochs: 3 });
      expect(JSON.parse(info.metadata[METADATA_KEYS.latentLayout]!)).toEqual([[2, 4, 4], [8, 2, 2]]);
    }
  });

  test('plain onnxruntime-node runs the exported file with a dynamic batch dimension N', async () => {
    const session = await ort.InferenceSession.create(models.logProb, { graphOptimizationLevel: 'all' });
    try {
      expect(session.inputNames).toEqual(['x']);
      expect(session.outputNames).toEqual(['log_prob', 'z', 'log_det']);
      for (const n of [1, 5]) {
        const x = randomTensor([n, 1, 8, 8], n);
        const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x.data), x.shape) });
        expect(out.log_prob!.dims).toEqual([n]);
        expect(out.z!.dims).toEqual([n, 1, 8, 8]);
        expect(toleranceRatio(out.log_prob!.data as Float32Array, await referenceRuntime(flow).logProb(x), 1e-4, 1e-4)).toBeLessThanOrEqual(1);
      }
    } finally {
      await session.release();
    }
  });
});

describe('Triton model repository', () => {
  test('exportOnnx({ triton }) writes the models and configs naming the right tensors, dtypes and dims', () => {
    const dir = tempDir();
    const out = exportOnnx(flow, { triton: dir, name: 'mnist glow', tritonOptions: { maxBatchSize: 64, preferredBatchSizes: [16, 64] } });
    const list = (p: string) => readdirSync(join(dir, p)).sort();
    expect(list('.')).toEqual(['mnist_glow_log_prob', 'mnist_glow_sample']);
    expect(list('mnist_glow_log_prob')).toEqual(['1', 'config.pbtxt']);
    expect(list('mnist_glow_log_prob/1')).toEqual(['model.onnx']);
    expect(new Uint8Array(readFileSync(join(dir, 'mnist_glow_log_prob/1/model.onnx')))).toEqual(out.logProb);
    expect(new Uint8Array(readFileSync(join(dir, 'mnist_glow_sample/1/model.onnx')))).toEqual(out.sample);
    const logProb = readFileSync(join(dir, 'mnist_glow_log_prob/config.pbtxt'), 'utf8');
    expect(logProb).toBe(
      [
        'name: "mnist_glow_log_prob"',
        'platform: "onnxruntime_onnx"',
        'max_batch_size: 64',
        'input [',
        '  {\n    name: "x"\n    data_type: TYPE_FP32\n    dims: [ 1, 8, 8 ]\n  }',
        ']',
        'output [',
        '  {\n    name: "log_prob"\n    data_type: TYPE_FP32\n    dims: [ 1 ]\n    reshape: { shape: [ ] }\n  },',
        '  {\n    name: "z"\n    data_type: TYPE_FP32\n    dims: [ 1, 8, 8 ]\n  },',
        '  {\n    name: "log_det"\n    data_type: TYPE_FP32\n    dims: [ 1 ]\n    reshape: { shape: [ ] }\n  }',
        ']',
        'dynamic_batching {\n  preferred_batch_size: [ 16, 64 ]\n  max_queue_delay_microseconds: 100\n}',
        '',
      ].join('\n'),
    );
    const sample = readFileSync(join(dir, 'mnist_glow_sample/config.pbtxt'), 'utf8');
    expect(sample).toMatch(/^name: "mnist_glow_sample"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 64\n/);
    expect(sample).toContain('input [\n  {\n    name: "z"\n    data_type: TYPE_FP32\n    dims: [ 1, 8, 8 ]\n  }\n]');
    expect(sample).toContain('output [\n  {\n    name: "x"\n    data_type: TYPE_FP32\n    dims: [ 1, 8, 8 ]\n  }\n]');
    // No temporary files left behind.
    expect(readdirSync(join(dir, 'mnist_glow_sample')).sort()).toEqual(['1', 'config.pbtxt']);
  });
});
