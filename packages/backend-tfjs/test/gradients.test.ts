import { describe, expect, it } from 'vitest';
import { Rng, traceFlow, type FlowSpec, type LayerSpec } from '@bijective/core';
import { batch, params64, perturbedFlow, referenceLoss, tfjsLossAndGrads } from './helpers.js';

/**
 * tfjs gradients of the mean log-likelihood against central finite differences of the
 * float64 reference, per layer family. For every trainable parameter tensor two entries
 * are checked: the one with the largest gradient (relative error < 1e-3) and a seeded
 * random one (error < 1e-3 of the larger of its own gradient and the tensor's largest).
 * Step h = 1e-6 in float64: truncation error ~h²·f‴ ≈ 1e-12 and rounding ~1e-16·|loss|/h ≈ 1e-9,
 * far below the float32 error of the tfjs gradient (~1e-6 relative). A larger h is not
 * safer: a ReLU pre-activation within h of its kink makes the difference quotient average
 * two slopes (seen with h = 1e-4 on a CNN conditioner's bias).
 */
interface Case {
  name: string;
  spec: FlowSpec;
  domain?: 'real' | 'unit';
}

const mlp = { type: 'mlp' as const, hidden: [8] };
const cnn = { type: 'cnn' as const, hidden: 4 };
const vec = (name: string, d: number, layers: LayerSpec[], domain: 'real' | 'unit' = 'real'): Case => ({ name, spec: { version: 1, event: [d], layers }, domain });
const img = (name: string, event: number[], layers: LayerSpec[]): Case => ({ name, spec: { version: 1, event, layers } });

const CASES: Case[] = [
  vec('affineCoupling/vector', 6, [
    { type: 'affineCoupling', mask: 'half', parity: 0, conditioner: mlp, scale: 'tanhExp' },
    { type: 'affineCoupling', mask: 'alternating', parity: 1, conditioner: { ...mlp, activation: 'tanh' }, scale: 'sigmoid' },
  ]),
  img('affineCoupling/image-cnn', [2, 4, 4], [
    { type: 'affineCoupling', mask: 'checkerboard', parity: 0, conditioner: cnn, scale: 'sigmoid' },
    { type: 'affineCoupling', mask: 'channel', parity: 1, conditioner: cnn, scale: 'tanhExp' },
  ]),
  vec('additiveCoupling+scale', 4, [{ type: 'additiveCoupling', mask: 'half', parity: 1, conditioner: mlp }, { type: 'scale' }]),
  img('actNorm/image', [3, 2, 2], [{ type: 'actNorm' }, { type: 'affineCoupling', mask: 'channel', parity: 0, conditioner: cnn }]),
  vec('actNorm/vector', 4, [{ type: 'actNorm' }]),
  img('invConv1x1/plain', [3, 2, 2], [{ type: 'invConv1x1', variant: 'plain' }, { type: 'actNorm' }]),
  img('invConv1x1/lu', [3, 2, 2], [{ type: 'invConv1x1', variant: 'lu' }, { type: 'actNorm' }]),
  img('split/conditional', [2, 4, 4], [
    { type: 'squeeze' },
    { type: 'affineCoupling', mask: 'channel', parity: 0, conditioner: cnn },
    { type: 'split', prior: 'conditional' },
    { type: 'actNorm' },
  ]),
  vec('maf', 4, [{ type: 'maf', hidden: [8] }, { type: 'permute', kind: 'reverse' }, { type: 'maf', hidden: [8], activation: 'tanh' }]),
  vec('iaf', 4, [{ type: 'iaf', hidden: [8] }, { type: 'permute', kind: 'random', seed: 3 }, { type: 'iaf', hidden: [8] }]),
  vec('logit', 4, [{ type: 'logit', alpha: 0.05 }, { type: 'affineCoupling', mask: 'half', parity: 0, conditioner: mlp }], 'unit'),
];

const H = 1e-6;

for (const engine of ['tfjs-cpu', 'tfjs-wasm']) {
  describe(`gradients of the mean log-likelihood: ${engine}`, () => {
    for (const c of CASES) {
      it(c.name, async () => {
        const flow = perturbedFlow(c.spec);
        const x = batch(c.spec.event, 8, c.domain);
        const { loss, grads } = await tfjsLossAndGrads(flow, x, engine);
        const graph = traceFlow(flow, 'density');
        const base = params64(flow);
        expect(Math.abs(loss - referenceLoss(graph, base, x))).toBeLessThan(1e-4 * Math.max(1, Math.abs(loss)));
        const rng = new Rng(5);
        expect(Object.keys(grads).length).toBeGreaterThan(0);
        for (const [name, g] of Object.entries(grads)) {
          const gmax = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          const argmax = g.findIndex((v) => Math.abs(v) === gmax);
          for (const [i, strict] of [[argmax, true], [rng.int(g.length), false]] as const) {
            const p = base[name]!.data;
            const v = p[i]!;
            p[i] = v + H;
            const up = referenceLoss(graph, base, x);
            p[i] = v - H;
            const down = referenceLoss(graph, base, x);
            p[i] = v;
            const fd = (up - down) / (2 * H);
            const scale = strict ? Math.abs(fd) : Math.max(Math.abs(fd), gmax);
            expect(Math.abs(g[i]! - fd), `${name}[${i}]: tfjs ${g[i]}, finite differences ${fd}`).toBeLessThanOrEqual(1e-3 * scale);
          }
        }
      });
    }
  });
}
