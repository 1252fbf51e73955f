import type { GraphBuilder, Value } from '../graph/graph.js';
import { SpecError } from '../flow/fields.js';
import { formatShape } from '../tensor.js';

/**
 * How a coupling layer partitions its input into a conditioning part `a` (passed through
 * unchanged, fed to the conditioner) and a transformed part `b`.
 *
 * - `half` (vectors): `a = x[:⌊D/2⌋]`, `b = x[⌊D/2⌋:]`;
 * - `alternating` (vectors): `a` = even features, `b` = odd features;
 * - `channel` (images): `a` = the first ⌊C/2⌋ channels, `b` = the rest;
 * - `checkerboard` (images, RealNVP): `a = x ⊙ m` with `m[h, w] = 1` where `(h + w)` is even;
 *   `b = x`, transformed only where `m = 0`.
 *
 * `parity: 1` swaps the roles of the two parts, so a stack can alternate.
 */
export type MaskKind = 'half' | 'alternating' | 'channel' | 'checkerboard';
export const VECTOR_MASKS: readonly MaskKind[] = ['half', 'alternating'];
export const IMAGE_MASKS: readonly MaskKind[] = ['channel', 'checkerboard'];

export interface Partition {
  /** Shape (without batch) of the conditioner's input. */
  readonly condShape: number[];
  /** Shape (without batch) of the transformed part (what the conditioner predicts for). */
  readonly transShape: number[];
  split(g: GraphBuilder, x: Value): { a: Value; b: Value };
  /** Reassembles `a` and the transformed `b`. */
  merge(g: GraphBuilder, a: Value, b: Value): Value;
  /** Which entries of `b` are transformed (checkerboard), for log-dets; null when all are. */
  weight(g: GraphBuilder): Value | null;
}

export function checkMask(mask: MaskKind, inShape: readonly number[], path: string): void {
  const image = inShape.length === 3;
  if (image ? !IMAGE_MASKS.includes(mask) : !VECTOR_MASKS.includes(mask)) {
    throw new SpecError(`${path}.mask`, `mask '${mask}' does not apply to input ${formatShape(inShape)}; use ${(image ? IMAGE_MASKS : VECTOR_MASKS).join(' or ')}`);
  }
  if (mask === 'half' || mask === 'alternating' || mask === 'channel') {
    if (inShape[0]! < 2) throw new SpecError(`${path}.mask`, `mask '${mask}' needs at least 2 ${image ? 'channels' : 'features'}, input is ${formatShape(inShape)}`);
  } else if (inShape[1]! * inShape[2]! < 2) {
    throw new SpecError(`${path}.mask`, `a checkerboard needs at least 2 pixels, input is ${formatShape(inShape)}`);
  }
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}

export function partition(mask: MaskKind, parity: 0 | 1, inShape: readonly number[]): Partition {
  if (mask === 'checkerboard') {
    const [c, h, w] = inShape as [number, number, number];
    const m = new Array<number>(h * w);
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) m[i * w + j] = (i + j + parity) % 2 === 0 ? 1 : 0;
    const keep = (g: GraphBuilder) => g.constant(m, [1, h, w]);
    const flip = (g: GraphBuilder) => g.constant(m.map((v) => 1 - v), [1, h, w]);
    return {
      condShape: [c, h, w],
      transShape: [c, h, w],
      split: (g, x) => ({ a: g.mul(x, keep(g)), b: x }),
      merge: (g, a, b) => g.add(a, g.mul(b, flip(g))),
      weight: (g) => flip(g),
    };
  }
  const d = inShape[0]!;
  const h = Math.floor(d / 2);
  const [ia, ib] =
    mask === 'alternating'
      ? [range(0, d).filter((i) => i % 2 === parity), range(0, d).filter((i) => i % 2 !== parity)]
      : parity === 0
        ? [range(0, h), range(h, d)]
        : [range(h, d), range(0, h)];
  const rest = inShape.slice(1);
  // merge: concat([a, b]) then undo the order [ia..., ib...].
  const order = [...ia, ...ib];
  const undo = new Array<number>(d);
  order.forEach((src, i) => (undo[src] = i));
  const contiguous = (idx: number[]) => idx.every((v, i) => v === idx[0]! + i);
  const pick = (g: GraphBuilder, x: Value, idx: number[]) =>
    contiguous(idx) ? g.slice(x, 1, idx[0]!, idx[0]! + idx.length) : g.gather(x, 1, idx);
  const identity = undo.every((v, i) => v === i);
  return {
    condShape: [ia.length, ...rest],
    transShape: [ib.length, ...rest],
    split: (g, x) => ({ a: pick(g, x, ia), b: pick(g, x, ib) }),
    merge: (g, a, b) => {
      const cat = g.concat([a, b], 1);
      return identity ? cat : g.gather(cat, 1, undo);
    },
    weight: () => null,
  };
}
