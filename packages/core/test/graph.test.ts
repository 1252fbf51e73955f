import { describe, expect, it } from 'vitest';
import { countFlops, createFlow, GraphBuilder, GraphError, printGraph, referenceRuntime, Rng, traceFlow, InputError } from '../src/index.js';

describe('graph builder', () => {
  it('infers shapes with the batch dimension and broadcasting', () => {
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 3, 8, 8]);
    const w = g.param('w', [16, 3, 3, 3]);
    const y = g.conv2d(x, w, [1, 1, 1, 1]);
    expect(y.shape).toEqual(['N', 16, 8, 8]);
    expect(g.add(y, g.param('b', [16, 1, 1])).shape).toEqual(['N', 16, 8, 8]);
    expect(g.sum(y, [1, 2, 3]).shape).toEqual(['N']);
    expect(g.mean(y, [0, 2, 3], true).shape).toEqual([1, 16, 1, 1]);
    expect(g.matmul(g.input('v', ['N', 5]), g.param('m', [5, 2])).shape).toEqual(['N', 2]);
  });

  it('names the op, the shapes and what was expected', () => {
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 4]);
    expect(() => g.add(x, g.param('b', [3]))).toThrow(GraphError);
    expect(() => g.add(x, g.param('c', [3]))).toThrow('add: inputs ([N, 4]:float32, [3]:float32) — expected broadcast-compatible shapes');
    expect(() => g.matmul(x, g.param('m', [5, 2]))).toThrow('matmul: inputs ([N, 4]:float32, [5, 2]:float32) — expected inner dimensions to agree (4 vs 5)');
    expect(() => g.reshape(x, ['N', 3])).toThrow(/reshape: inputs \(\[N, 4\]:float32\) — expected a shape with the same size/);
    expect(() => g.logAbsDet(g.reshape(x, ['N', 2, 2]))).toThrow(/logAbsDet.*square float32 matrix/);
    expect(() => g.matrixInverse(g.matmul(g.param('a', [4, 1]), g.reshape(g.sum(x, [0], true), [1, 4])))).toThrow(/parameters and constants only/);
    expect(() => g.slice(x, 0, 0, 1)).toThrow(/slice: .*non-batch axis/);
  });

  it('counts multiply-adds per example (conv: Cout·Cin·k²·H·W; dense: Din·Dout)', () => {
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 3, 8, 8]);
    const y = g.conv2d(x, g.param('w', [16, 3, 3, 3]), [1, 1, 1, 1]);
    const v = g.matmul(g.reshape(y, ['N', 1024]), g.param('m', [1024, 10]));
    g.output('v', g.relu(v));
    const f = countFlops(g.build());
    expect(f.macs).toBe(16 * 3 * 9 * 64 + 1024 * 10);
    expect(f.other).toBe(10);
    expect(f.flops).toBe(2 * f.macs + 10);
    expect(printGraph(g.build())).toContain("conv2d(%0, %1; pads=[1, 1, 1, 1]) : [N, 16, 8, 8]");
  });

  it("conv2dWeightGrad: conv2d's filter shape from x and dy, its shape checks, and conv2d's multiply-adds", () => {
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 3, 8, 8]);
    const dy = g.input('dy', ['N', 16, 8, 7]);
    const w = g.conv2dWeightGrad(x, dy, [1, 0, 1, 1], [3, 3]);
    expect(w.shape).toEqual([16, 3, 3, 3]);
    g.output('w', w);
    expect(countFlops(g.build()).macs).toBe(16 * 3 * 9 * 56);
    expect(printGraph(g.build())).toContain('conv2dWeightGrad(%0, %1; pads=[1, 0, 1, 1], kernel=[3, 3]) : [16, 3, 3, 3]');
    expect(() => g.conv2dWeightGrad(x, dy, [1, 1, 1, 1], [3, 3])).toThrow(
      "conv2dWeightGrad: inputs ([N, 3, 8, 8]:float32, [N, 16, 8, 7]:float32) — expected dy's spatial size to be conv2d's output for a 3×3 kernel and pads [1, 1, 1, 1]: [8, 8]",
    );
    expect(() => g.conv2dWeightGrad(x, g.input('d2', [2, 16, 8, 7]), [1, 0, 1, 1], [3, 3])).toThrow(/expected the same batch dimension \(N vs 2\)/);
    expect(() => g.conv2dWeightGrad(x, dy, [1, 0, 1, 1], [0, 3])).toThrow(/a kernel \[kh, kw\] of positive integers, got \[0, 3\]/);
    expect(() => g.conv2dWeightGrad(x, g.reshape(dy, ['N', 16, 56]), [1, 0, 1, 1], [3, 3])).toThrow(/expected float32 x \[N, Cin, H, W\] and dy \[N, Cout, oh, ow\]/);
  });

  it('graphs are plain data: a JSON round trip evaluates the same', () => {
    const flow = createFlow({ version: 1, event: [4], layers: [{ type: 'additiveCoupling' }, { type: 'scale' }] }, { seed: 1 });
    const graph = traceFlow(flow, 'density');
    expect(JSON.parse(JSON.stringify(graph))).toEqual(graph);
  });
});

describe('runtime edge checks', () => {
  const flow = createFlow({ version: 1, event: [4], layers: [{ type: 'additiveCoupling' }, { type: 'scale' }] }, { seed: 1 });
  const rt = referenceRuntime(flow);
  it('rejects wrong rank, shape, dtype and non-finite values, naming the tensor', async () => {
    await expect(rt.logProb({ data: new Float32Array(8), shape: [2, 2, 2] })).rejects.toThrow('logProb: x: shape [2, 2, 2], expected [N, 4] with N >= 1');
    await expect(rt.decode({ data: new Float32Array(4), shape: [2, 4] })).rejects.toThrow('decode: z: 4 values do not fill shape [2, 4] (8 values)');
    await expect(rt.encode({ data: [1, 2, 3, 4] as unknown as Float32Array, shape: [1, 4] })).rejects.toThrow(/must be a Float32Array or Float64Array, got Array/);
    await expect(rt.logProb({ data: Float32Array.of(0, 1, Infinity, 2), shape: [1, 4] })).rejects.toThrow('logProb: x: value at [0, 2] is Infinity; every value must be finite');
    await expect(rt.sample({ n: 0 })).rejects.toThrow(InputError);
  });

  it('draws the same sample for the same seed, different for another', async () => {
    const a = await rt.sample({ n: 3, seed: 9 });
    const b = await rt.sample({ n: 3, seed: 9 });
    const c = await rt.sample({ n: 3, seed: 10 });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
  });
});

describe('Rng', () => {
  it('gives standard normals (mean 0, variance 1 within sampling error)', () => {
    const v = new Rng(3).normals(200_000);
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length;
    // Standard errors: 1/sqrt(n) = 0.0022 for the mean, sqrt(2/n) = 0.0032 for the variance.
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.015);
  });
});
