import { GraphBuilder, type Graph, type Value } from '../graph/graph.js';
import { addMaybe, flatten, standardNormalLogProb, sumPerExample } from '../graph/ops.js';
import type { LayerContext } from '../layers/layer.js';
import { formatShape, sizeOf } from '../tensor.js';
import { BASE_PREFIX, CONTEXT_INPUT, conditionalBase } from './context.js';
import type { Flow } from './flow.js';

export type Direction = 'density' | 'sample';

export interface TraceOptions {
  /**
   * Trace the data-dependent initialisation pass: layers that initialise from data
   * (ActNorm whose `initialized` flag is 0) compute their parameters from the batch, use
   * them, and the graph gets an output `init:<param name>` for each.
   */
  dataInit?: boolean;
}

/** Output names of the traced graphs. */
export const DENSITY_OUTPUTS = { logProb: 'logProb', z: 'z', logDet: 'logDet' } as const;
export const SAMPLE_OUTPUTS = { x: 'x', logDet: 'logDet' } as const;
export const INIT_PREFIX = 'init:';

/**
 * The latent layout: the pieces factored out by multi-scale splits, in the order the
 * density pass emits them, then the last layer's output; each flattened (row-major) and
 * concatenated into `[N, D]`, then reshaped to the event shape. `z` always has the shape
 * of `x`.
 */
export function latentPieces(flow: Flow): number[][] {
  const pieces: number[][] = [];
  for (const l of flow.layers) if (l.def.latentShapes) pieces.push(...l.def.latentShapes(l.spec, l.inShape));
  pieces.push(flow.layers[flow.layers.length - 1]!.outShape);
  return pieces;
}

class Context implements LayerContext {
  constructor(
    readonly g: GraphBuilder,
    private readonly flow: Flow,
    private readonly prefix: string,
    readonly dataInit: boolean,
    private readonly latent: { emitted: Value[]; pending: Value[] },
    private readonly inits: Map<string, Value>,
    readonly context: Value | null,
  ) {}

  private full(local: string): string {
    const name = `${this.prefix}.${local}`;
    if (!(name in this.flow.paramDecls)) throw new Error(`layer at ${this.prefix} asked for undeclared parameter '${local}'`);
    return name;
  }

  param(local: string): Value {
    const name = this.full(local);
    return this.g.param(name, this.flow.paramDecls[name]!.shape);
  }

  paramValue(local: string): Float32Array {
    return this.flow.params[this.full(local)]!.data;
  }

  child(sub: string): LayerContext {
    return new Context(this.g, this.flow, `${this.prefix}.${sub}`, this.dataInit, this.latent, this.inits, this.context);
  }

  setInit(local: string, v: Value): void {
    const name = this.full(local);
    const shape = this.flow.paramDecls[name]!.shape;
    if (sizeOf(shape) !== sizeOf(v.shape.filter((d): d is number => d !== 'N')) || v.shape.includes('N')) {
      throw new Error(`data-init value for '${name}' has shape ${formatShape(v.shape)}, the parameter ${formatShape(shape)}`);
    }
    this.inits.set(name, this.g.reshape(v, shape));
  }

  emitLatent(v: Value): void {
    this.latent.emitted.push(v);
  }

  takeLatent(shape: readonly number[]): Value {
    const v = this.latent.pending.pop();
    if (!v || formatShape(v.shape.slice(1)) !== formatShape(shape)) {
      throw new Error(`${this.prefix}: latent piece of shape ${formatShape(shape)} requested, layout has ${v ? formatShape(v.shape.slice(1)) : 'none left'}`);
    }
    return v;
  }
}

/** The accumulated log-det as `[N]`: layers may contribute per-call scalars (NICE's scale). */
function perExample(g: GraphBuilder, logDet: Value | null, flat: Value): Value {
  if (logDet !== null && logDet.shape[0] === 'N') return logDet;
  const zeros = sumPerExample(g, g.mul(flat, g.scalar(0)));
  return logDet === null ? zeros : g.add(zeros, logDet);
}

/**
 * Emits the flow as a graph of primitives.
 * - `density`: input `x` `[N, ...event]` → outputs `logProb` `[N]` (nats), `z` `[N, ...event]`, `logDet` `[N]`.
 * - `sample`: input `z` `[N, ...event]` → outputs `x` `[N, ...event]` and `logDet` `[N]`
 *   (log|det ∂z/∂x| at the produced x, so `logProb(x) = log N(z) + logDet`).
 * A conditional flow (`spec.context` `[K]`) has a second input `context` `[N, K]` in both
 * directions; a `conditionalGaussian` base is the last map of the density direction (see
 * `flow/context.ts`), so `z` is standard normal in either case.
 */
export function traceFlow(flow: Flow, direction: Direction, options: TraceOptions = {}): Graph {
  const g = new GraphBuilder();
  const event = flow.spec.event;
  const inits = new Map<string, Value>();
  const dataInit = options.dataInit ?? false;
  const pieces = latentPieces(flow);
  // The context input follows x (or z), so graph (and ONNX) inputs read x, context.
  const first = g.input(direction === 'density' ? 'x' : 'z', ['N', ...event]);
  const k = flow.spec.context?.[0];
  const context = k === undefined ? null : g.input(CONTEXT_INPUT, ['N', k]);
  const layerContext = (prefix: string, init: boolean, latent: { emitted: Value[]; pending: Value[] }) => new Context(g, flow, prefix, init, latent, inits, context);
  const baseParam = (name: string) => g.param(`${BASE_PREFIX}.${name}`, flow.paramDecls[`${BASE_PREFIX}.${name}`]!.shape);
  const base = flow.spec.base === 'conditionalGaussian' ? conditionalBase(g, baseParam('weight'), baseParam('bias'), context!, flow.dim) : null;
  if (direction === 'density') {
    const latent = { emitted: [] as Value[], pending: [] as Value[] };
    let h = first;
    let logDet: Value | null = null;
    for (const l of flow.layers) {
      const step = l.def.forward(layerContext(l.prefix, dataInit, latent), l.spec, h, l.inShape);
      h = step.out;
      logDet = addMaybe(g, logDet, step.logDet);
    }
    const all = [...latent.emitted, h];
    if (all.length !== pieces.length) throw new Error(`flow emitted ${all.length} latent pieces, its layout has ${pieces.length}`);
    let flat = all.length === 1 ? flatten(g, h) : g.concat(all.map((v) => flatten(g, v)), 1);
    if (base) {
      flat = g.mul(g.sub(flat, base.mean), g.exp(g.neg(base.logStd)));
      logDet = addMaybe(g, logDet, g.neg(sumPerExample(g, base.logStd)));
    }
    const z = event.length === 1 ? flat : g.reshape(flat, ['N', ...event]);
    const baseLogProb = standardNormalLogProb(g, flat);
    const ld = perExample(g, logDet, flat);
    g.output(DENSITY_OUTPUTS.logProb, g.add(baseLogProb, ld));
    g.output(DENSITY_OUTPUTS.z, z);
    g.output(DENSITY_OUTPUTS.logDet, ld);
  } else {
    let flat = flatten(g, first);
    let logDet: Value | null = null;
    if (base) {
      flat = g.add(g.mul(flat, g.exp(base.logStd)), base.mean);
      logDet = g.neg(sumPerExample(g, base.logStd));
    }
    const values: Value[] = [];
    let at = 0;
    for (const p of pieces) {
      const size = sizeOf(p);
      const s = pieces.length === 1 ? flat : g.slice(flat, 1, at, at + size);
      values.push(p.length === 1 ? s : g.reshape(s, ['N', ...p]));
      at += size;
    }
    const latent = { emitted: [] as Value[], pending: values.slice(0, -1) };
    let h = values[values.length - 1]!;
    for (const l of [...flow.layers].reverse()) {
      const step = l.def.inverse(layerContext(l.prefix, false, latent), l.spec, h, l.inShape);
      h = step.out;
      logDet = addMaybe(g, logDet, step.logDet);
    }
    if (latent.pending.length) throw new Error(`${latent.pending.length} latent pieces were not consumed by the sampling pass`);
    g.output(SAMPLE_OUTPUTS.x, h);
    g.output(SAMPLE_OUTPUTS.logDet, perExample(g, logDet, flat));
  }
  for (const [name, v] of inits) g.output(`${INIT_PREFIX}${name}`, v);
  return g.build();
}
