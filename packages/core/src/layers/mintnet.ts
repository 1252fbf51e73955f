import type { GraphBuilder, Value } from '../graph/graph.js';
import { perChannel, sumPerExample } from '../graph/ops.js';
import { SpecError, num, oneOf, onlyKeys, type Obj } from '../flow/fields.js';
import type { Rng } from '../random.js';
import { defineLayer, type LayerContext, type WithDefaults } from './layer.js';

/**
 * MintNet block (Song, Meng & Ermon, NeurIPS 2019, https://arxiv.org/abs/1907.07945):
 * a residual block of masked 3×3 convolutions whose Jacobian is triangular.
 *
 * Order: the elements of an event `[C, H, W]` are ordered by pixel in raster order
 * (p = i·W + j), then by channel c. A masked 3×3 convolution (padding 1) from a·C to b·C
 * channels gives channel k the degree deg(k) = k mod C. Its tap (di, dj) of W[o, i] is kept
 * iff the tap is before the centre in raster order (di < 0, or di = 0 and dj < 0) — for every
 * (o, i) — or it is the centre and deg(i) ≤ deg(o). With `order: 'reverse'` the raster order
 * and the degrees are reversed (taps after the centre, and deg(i) ≥ deg(o) at the centre), so
 * alternating blocks make every element depend on every other.
 *
 * Forward: h1 = ELU(conv1(x) + b1), h2 = ELU(conv2(h1) + b2), h3 = conv3(h2) + b3 with masked
 * convolutions C → L·C → L·C → C (L = `hidden`), and f(x) = t ⊙ x + h3, t_c = exp(logT_c).
 * The centre taps with deg(i) = deg(o) of all three convolutions are exp of a free
 * parameter (positive); the other kept taps are free.
 *
 * Parameters: `v1..v3` [cout, cin, 3, 3] hold the free taps (read through the `off` mask);
 * `u1..u3` [cout, cin / C] hold only the centre-diagonal log-taps, u[o, j] for
 * W[o, j·C + (o mod C)] — one per kept entry (a full [cout, cin, 3, 3] u would be 9·C times
 * larger and mostly masked). The masked-out entries of v (the taps after the centre, about
 * half) are still stored: placing the kept taps compactly would need a gather.
 *
 * Diagonal: ∂f is triangular in the order above, so its diagonal at (c, p) is
 *   d(c, p) = t_c + Σ_{k2, k1 of degree c} W3[c, k2]·ELU'(a2[k2, p])·W2[k2, k1]·ELU'(a1[k1, p])·W1[k1, c]
 * (centre taps), computed as v1 = ELU'(a1) ⊙ w1 (w1[k1] = W1[k1, deg k1]), v2 = ELU'(a2) ⊙
 * conv1×1(v1, W2ᶜ), d = t + conv1×1(v2, W3ᶜ), where Wᶜ is the centre tap restricted to
 * deg(i) = deg(o), and ELU'(a) = exp(min(a, 0)). Every term is positive, so d ≥ t > 0 and
 *   log|det J| = Σ_{c, p} log d(c, p).
 *
 * Inverse: the damped Newton-diagonal fixed point x ← x − α·(f(x) − z) / d(x) from
 * x₀ = z / t, `iterations` steps of one `loop` (α = `damping`). Measured residual
 * max|f(x) − z| in float64, one block on a 2×4×4 event, hidden 2, batch 4, z ~ N(0, 1):
 * "init" = the data-free init perturbed by N(0, 0.05²); "trained-scale" = free taps
 * N(0, 0.5²), centre log-taps, biases, logT N(0, 0.3²) (residual branch as large as t ⊙ x;
 * synthetic weights; trained ones are measured below):
 *
 *   k   | init, α = 1 | init, α = 0.5 | trained-scale, α = 1 | trained-scale, α = 0.5
 *   5   | 4e-16       | 1e-3          | 1e+3                 | 2e+1
 *   10  | 2e-16       | 3e-5          | 3e+3                 | 2e+1
 *   20  | 2e-16       | 3e-8          | 4e+2                 | 3e+0
 *   30  | 2e-16       | 3e-11         | 6e-3                 | 2e-1
 *   40  | 2e-16       | 3e-14         | 2e-14                | 3e-2
 *   50  | 2e-16       | 2e-16         | 2e-14                | 5e-4
 *   80  | 2e-16       | 2e-16         | 3e-14                | 7e-9
 *
 * With strong weights α = 1 overshoots for the first ~20 steps, then converges
 * quadratically; α = 0.5 converges linearly (≈ ×0.5 per step).
 *
 * Trained weights (the shipped mintnet-fmnist-small, 2964 steps; `models/scripts/mint-residuals.ts`):
 * per block, x = its input on 4 Fashion-MNIST test images, z = f(x), the max over the 10
 * blocks of max|f(x_k) − z| (float64, α = 1); and the whole flow from z ~ N(0, T²), 4 samples,
 * max|f(f⁻¹(z)) − z| with every block at k iterations:
 *
 *   k   | per block | whole flow, T = 0.7 | T = 1
 *   1   | 5e+0      |                     |
 *   5   | 1e+1      | 2e+0                | 6e+0
 *   10  | 2e+0      | 1e-1                | 2e-1
 *   15  | 4e-2      | 5e-4                | 9e-4
 *   20  | 9e-5      | 3e-7                | 3e-8
 *   30  | 8e-15     | 3e-13               | 6e-13
 *   50  | 8e-15     | 2e-13               | 5e-13
 *
 * The slowest block (the 8×7×7 level's last natural one) overshoots up to k ≈ 10 before the
 * quadratic phase; the same run's checkpoints at 1500 and 500 steps reached 3e-5 and 9e-8 at
 * k = 20: the count needed grows with training. In float32 (ORT, tfjs-wasm) 50 iterations
 * give max|f⁻¹(f(x)) − x| = 2.6e-6 / 3.1e-6 on 64 test images through the whole flow.
 * Defaults: α = 1 and 50 iterations (20 past the measured convergence at 30); the
 * paper-scale preset mintnet-fmnist uses 100, the official code's count.
 *
 * Init (data-free): off-centre-diagonal taps N(0, 0.05²/fan-in·9), centre-diagonal exp(U)
 * with U = log 0.01, biases and logT zero: the block starts close to the identity.
 *
 * @example { "type": "mintBlock", "hidden": 4, "order": "natural", "iterations": 50, "damping": 1 }
 */
export interface MintBlockSpec {
  type: 'mintBlock';
  hidden: number;
  order: 'natural' | 'reverse';
  iterations: number;
  damping: number;
}

/** A MintNet block as written in a spec: every field but `type` has a default. */
export type MintBlockInput = WithDefaults<MintBlockSpec, 'hidden' | 'order' | 'iterations' | 'damping'>;

/** Off-diagonal weight std (times 1/√(9·fan-in)) and the centre-diagonal taps' initial value. */
const INIT_STD = 0.05;
const INIT_CENTRE = 0.01;

/** Masks of a masked 3×3 conv [cout, cin, 3, 3]: `off` (free kept taps) and `diag` (centre, deg(i) = deg(o)). */
export function mintMasks(cout: number, cin: number, c: number, reverse: boolean): { off: Float64Array; diag: Float64Array } {
  const off = new Float64Array(cout * cin * 9);
  const diag = new Float64Array(cout * cin * 9);
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < cin; i++) {
      const dout = o % c;
      const din = i % c;
      for (let t = 0; t < 9; t++) {
        const idx = ((o * cin + i) * 9) + t;
        if (t === 4) {
          if (din === dout) diag[idx] = 1;
          else if (reverse ? din > dout : din < dout) off[idx] = 1;
        } else if (reverse ? t > 4 : t < 4) off[idx] = 1;
      }
    }
  }
  return { off, diag };
}

/** K[o, 0, r, t] = 1 iff r = o mod C and t is the centre tap (4 of 3×3), shape [cout, 1, C, 9]. */
function centreOneHot(cout: number, c: number): Float64Array {
  const k = new Float64Array(cout * c * 9);
  for (let o = 0; o < cout; o++) k[(o * c + (o % c)) * 9 + 4] = 1;
  return k;
}

interface Weights {
  w: [Value, Value, Value];
  b: [Value, Value, Value];
  logT: Value;
}

const SHAPES = (c: number, l: number): [number, number][] => [
  [l * c, c],
  [l * c, l * c],
  [c, l * c],
];

function weights(ctx: LayerContext, spec: MintBlockSpec, c: number): Weights {
  const g = ctx.g;
  const w = SHAPES(c, spec.hidden).map(([co, ci], k) => {
    const { off } = mintMasks(co, ci, c, spec.order === 'reverse');
    const shape = [co, ci, 3, 3];
    // u[o, j] is the centre tap W[o, j·C + (o mod C)]: exp(u) broadcast against the one-hot
    // K[o, 0, r, t] = [r = o mod C and t = centre], then [co, ci/C, C, 9] → [co, ci, 3, 3].
    const centre = g.mul(g.reshape(g.exp(ctx.param(`u${k + 1}`)), [co, ci / c, 1, 1]), g.constant(centreOneHot(co, c), [co, 1, c, 9]));
    return g.add(g.mul(ctx.param(`v${k + 1}`), g.constant(off, shape)), g.reshape(centre, shape));
  }) as [Value, Value, Value];
  const b = [1, 2, 3].map((k) => ctx.param(`b${k}`)) as [Value, Value, Value];
  return { w, b, logT: ctx.param('logT') };
}

/** exp(min(a, 0)) = ELU'(a). */
const eluGrad = (g: GraphBuilder, a: Value) => g.exp(g.neg(g.relu(g.neg(a))));
/** ELU(a) = max(a, 0) + exp(min(a, 0)) − 1. */
const elu = (g: GraphBuilder, a: Value) => g.sub(g.add(g.relu(a), eluGrad(g, a)), g.scalar(1));

/** The centre tap [cout, cin, 1, 1] restricted to deg(i) = deg(o). */
function centreDiag(g: GraphBuilder, w: Value, c: number): Value {
  const [co, ci] = w.shape as [number, number];
  const m = new Float64Array(co * ci);
  for (let o = 0; o < co; o++) for (let i = 0; i < ci; i++) if (o % c === i % c) m[o * ci + i] = 1;
  return g.mul(g.slice(g.slice(w, 2, 1, 2), 3, 1, 2), g.constant(m, [co, ci, 1, 1]));
}

/** f(x) and the Jacobian diagonal d(x), both [N, C, H, W]. */
function block(g: GraphBuilder, x: Value, p: Weights, c: number): { f: Value; d: Value } {
  const pads: [number, number, number, number] = [1, 1, 1, 1];
  const a1 = g.add(g.conv2d(x, p.w[0], pads), perChannel(g, p.b[0], 4));
  const a2 = g.add(g.conv2d(elu(g, a1), p.w[1], pads), perChannel(g, p.b[1], 4));
  const h3 = g.add(g.conv2d(elu(g, a2), p.w[2], pads), perChannel(g, p.b[2], 4));
  const t = perChannel(g, g.exp(p.logT), 4);
  const f = g.add(g.mul(t, x), h3);
  // w1[k1] = W1[k1, k1 mod C] at the centre.
  const w1 = g.sum(g.reshape(centreDiag(g, p.w[0], c), [p.w[0].shape[0] as number, c]), [1]);
  const v1 = g.mul(eluGrad(g, a1), perChannel(g, w1, 4));
  const zero: [number, number, number, number] = [0, 0, 0, 0];
  const v2 = g.mul(eluGrad(g, a2), g.conv2d(v1, centreDiag(g, p.w[1], c), zero));
  const d = g.add(t, g.conv2d(v2, centreDiag(g, p.w[2], c), zero));
  return { f, d };
}

const normal = (n: number, std: number) => (rng: Rng) => rng.normals(n, std);

export const mintBlock = defineLayer<MintBlockSpec>({
  type: 'mintBlock',
  parse(o: Obj, path, inShape) {
    onlyKeys(o, path, ['type', 'hidden', 'order', 'iterations', 'damping']);
    if (inShape.length !== 3) throw new SpecError(`${path}.type`, `mintBlock needs an image event [C, H, W], got [${inShape.join(', ')}]`);
    return {
      type: 'mintBlock',
      hidden: num(o, 'hidden', path, { int: true, min: 1, default: 4 }),
      order: oneOf(o, 'order', path, ['natural', 'reverse'] as const, 'natural'),
      iterations: num(o, 'iterations', path, { int: true, min: 1, default: 50 }),
      damping: num(o, 'damping', path, { minExclusive: 0, max: 1, default: 1 }),
    };
  },
  outShape: (_, s) => [...s],
  params(spec, inShape) {
    const c = inShape[0]!;
    const out: Record<string, { shape: number[]; init: (rng: Rng) => ArrayLike<number> }> = {};
    SHAPES(c, spec.hidden).forEach(([co, ci], k) => {
      const n = co * ci * 9;
      out[`v${k + 1}`] = { shape: [co, ci, 3, 3], init: normal(n, INIT_STD / Math.sqrt(9 * ci)) };
      out[`u${k + 1}`] = { shape: [co, ci / c], init: () => new Float64Array(co * ci / c).fill(Math.log(INIT_CENTRE)) };
      out[`b${k + 1}`] = { shape: [co], init: () => new Float64Array(co) };
    });
    out.logT = { shape: [c], init: () => new Float64Array(c) };
    return out;
  },
  forward(ctx, _spec, x, inShape) {
    const g = ctx.g;
    const c = inShape[0]!;
    const { f, d } = block(g, x, weights(ctx, _spec, c), c);
    return { out: f, logDet: sumPerExample(g, g.log(d)) };
  },
  inverse(ctx, spec, z, inShape) {
    const g = ctx.g;
    const c = inShape[0]!;
    const p = weights(ctx, spec, c);
    const x0 = g.mul(z, perChannel(g, g.exp(g.neg(p.logT)), 4));
    const inv = [z, ...p.w, ...p.b, p.logT];
    const x = g.loop(spec.iterations, x0, inv, (b, s, iv) => {
      const [zz, w1, w2, w3, b1, b2, b3, lt] = iv as [Value, Value, Value, Value, Value, Value, Value, Value];
      const { f, d } = block(b, s, { w: [w1, w2, w3], b: [b1, b2, b3], logT: lt }, c);
      return b.sub(s, b.mul(b.div(b.sub(f, zz), d), b.scalar(spec.damping)));
    });
    const { d } = block(g, x, p, c);
    return { out: x, logDet: sumPerExample(g, g.log(d)) };
  },
});
