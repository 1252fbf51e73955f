import { Rng } from '../random.js';
import { formatShape, sizeOf } from '../tensor.js';
import type { LayerDef, ParamDecl } from '../layers/layer.js';
import { layerRegistry } from '../layers/registry.js';
import type { LayerSpec, ResolvedLayerSpec } from '../layers/specs.js';
import { conditionalBaseParams, type BaseKind } from './context.js';
import { SpecError, intArray, num, object, oneOf, type Obj } from './fields.js';
import { checkContextSize, checkEventSize, checkParamCount } from './limits.js';

export const FLOW_SPEC_VERSION = 1;

/**
 * A flow, as JSON: the event shape (without batch) and the layers, data side first. Each layer
 * is a {@link LayerSpec}, a union discriminated by `type`, so a typo in a literal spec does not
 * compile; `createFlow` also takes unknown JSON and checks it at run time.
 */
export interface FlowSpec {
  version: number;
  /** `[D]` for vectors, `[C, H, W]` for images. */
  event: number[];
  layers: LayerSpec[];
  name?: string;
  /** A conditional flow p(x | c): the shape `[K]` of the context c (see `flow/context.ts`). */
  context?: number[];
  /** With `context`: `'conditionalGaussian'` learns the base N(μ(c), σ(c)²); default `'normal'`. */
  base?: BaseKind;
}

/**
 * A spec of unknown shape, such as JSON read from disk (`Record<string, unknown>`): checked at
 * run time only. It declares no `layers`, so an object literal that has them is checked
 * against {@link FlowSpec} instead, typos in its layers included.
 */
export interface UncheckedFlowSpec {
  readonly [field: string]: unknown;
  readonly layers?: undefined;
}

/** A flow spec after `createFlow` has read it: each layer with its defaults filled in. */
export interface ResolvedFlowSpec extends FlowSpec {
  layers: ResolvedLayerSpec[];
}

/** A named float32 parameter. */
export interface ParamTensor {
  data: Float32Array;
  shape: number[];
}

export interface ResolvedLayer {
  readonly def: LayerDef;
  readonly spec: ResolvedLayerSpec;
  readonly inShape: number[];
  readonly outShape: number[];
  /** Parameter-name prefix: `layers.<i>`. */
  readonly prefix: string;
  /** The flow's context size K (0: unconditional); the layer's networks read the context when > 0. */
  readonly contextDim: number;
}

export interface Flow {
  /** The spec with every default filled in. */
  readonly spec: ResolvedFlowSpec;
  readonly layers: readonly ResolvedLayer[];
  /** Every parameter, by full name (`layers.3.conditioner.w0`). */
  readonly params: Record<string, ParamTensor>;
  readonly paramDecls: Readonly<Record<string, ParamDecl>>;
  /** Event size D (number of values per example). */
  readonly dim: number;
  /** Context size K of a conditional flow; 0 for an unconditional one. */
  readonly contextDim: number;
}

function parseLayers(raw: unknown): { spec: ResolvedFlowSpec; layers: ResolvedLayer[] } {
  const o = object(raw, 'spec');
  const version = num(o, 'version', 'spec', { int: true, default: FLOW_SPEC_VERSION });
  if (version !== FLOW_SPEC_VERSION) throw new SpecError('spec.version', `unsupported version ${version}; this library reads version ${FLOW_SPEC_VERSION}`);
  const event = intArray(o, 'event', 'spec', { min: 1, minLength: 1 });
  if (event.length !== 1 && event.length !== 3) throw new SpecError('spec.event', `expected [D] or [C, H, W], got ${formatShape(event)}`);
  checkEventSize(event);
  if (!Array.isArray(o.layers) || o.layers.length === 0) throw new SpecError('spec.layers', 'expected a non-empty array of layer specs');
  for (const k of Object.keys(o)) {
    if (!['version', 'event', 'layers', 'name', 'context', 'base'].includes(k)) throw new SpecError(`spec.${k}`, 'unknown field; expected version, event, layers, name, context, base');
  }
  const context = o.context === undefined ? undefined : intArray(o, 'context', 'spec', { min: 1, minLength: 1 });
  if (context && context.length !== 1) throw new SpecError('spec.context', `expected [K], a vector of K context values per example, got ${formatShape(context)}`);
  if (context) checkContextSize(context);
  const base = oneOf(o, 'base', 'spec', ['normal', 'conditionalGaussian'] as const, 'normal');
  if (base === 'conditionalGaussian' && !context) throw new SpecError('spec.base', "a 'conditionalGaussian' base needs a context: add 'context': [K]");
  const contextDim = context?.[0] ?? 0;
  if (o.name !== undefined && typeof o.name !== 'string') throw new SpecError('spec.name', 'expected a string');
  const layers: ResolvedLayer[] = [];
  let shape = event;
  o.layers.forEach((rawLayer: unknown, i: number) => {
    const path = `spec.layers[${i}]`;
    const lo: Obj = object(rawLayer, path);
    const def = typeof lo.type === 'string' ? layerRegistry.get(lo.type) : undefined;
    if (!def) {
      throw new SpecError(`${path}.type`, `unknown layer type ${JSON.stringify(lo.type)}; known: ${[...layerRegistry.keys()].join(', ')}`);
    }
    // The registry maps each `type` to its family's def, whose `parse` returns that family's spec.
    const spec = def.parse(lo, path, shape) as ResolvedLayerSpec;
    const outShape = def.outShape(spec, shape);
    layers.push({ def: def as LayerDef, spec, inShape: shape, outShape, prefix: `layers.${i}`, contextDim });
    shape = outShape;
  });
  const spec: ResolvedFlowSpec = {
    version,
    event,
    layers: layers.map((l) => l.spec),
    ...(o.name !== undefined ? { name: o.name as string } : {}),
    ...(context ? { context } : {}),
    ...(o.base !== undefined ? { base } : {}),
  };
  return { spec, layers };
}

/** A 32-bit hash of a string with a seed (FNV-1a mixed), so each parameter has its own stream. */
function hashSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ Math.trunc(seed)) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function collectDecls(spec: FlowSpec, layers: readonly ResolvedLayer[]): Record<string, ParamDecl> {
  const decls: Record<string, ParamDecl> = {};
  for (const l of layers) {
    for (const [local, d] of Object.entries(l.def.params(l.spec, l.inShape, { context: l.contextDim }))) {
      decls[`${l.prefix}.${local}`] = d.seedKey === undefined ? d : { ...d, seedKey: `${l.prefix}.${d.seedKey}` };
    }
  }
  if (spec.base === 'conditionalGaussian') Object.assign(decls, conditionalBaseParams(spec.context![0]!, sizeOf(spec.event)));
  checkParamCount(decls);
  return decls;
}

/**
 * Validates `spec` (unknown layer type, bad field, impossible shape: an error naming the
 * path in the spec) and initialises every parameter deterministically from `seed`.
 */
export function createFlow(spec: FlowSpec | UncheckedFlowSpec, options: { seed?: number } = {}): Flow {
  const seed = options.seed ?? 0;
  const parsed = parseLayers(spec);
  const paramDecls = collectDecls(parsed.spec, parsed.layers);
  const params: Record<string, ParamTensor> = {};
  for (const [name, d] of Object.entries(paramDecls)) {
    const values = d.init(new Rng(hashSeed(seed, d.seedKey ?? name)));
    if (values.length !== sizeOf(d.shape)) throw new Error(`init of ${name} gave ${values.length} values for shape ${formatShape(d.shape)}`);
    params[name] = { data: Float32Array.from(values), shape: [...d.shape] };
  }
  return { spec: parsed.spec, layers: parsed.layers, params, paramDecls, dim: sizeOf(parsed.spec.event), contextDim: parsed.spec.context?.[0] ?? 0 };
}

/** Rebuilds a flow from a spec and saved parameters; every declared parameter must be present with its shape. */
export function flowFromParams(spec: FlowSpec | UncheckedFlowSpec, params: Record<string, ParamTensor>): Flow {
  const parsed = parseLayers(spec);
  const paramDecls = collectDecls(parsed.spec, parsed.layers);
  const out: Record<string, ParamTensor> = {};
  for (const [name, d] of Object.entries(paramDecls)) {
    const p = params[name];
    if (!p) throw new Error(`parameter '${name}' is missing (the spec declares it with shape ${formatShape(d.shape)})`);
    if (formatShape(p.shape) !== formatShape(d.shape) || p.data.length !== sizeOf(d.shape)) {
      throw new Error(`parameter '${name}' has shape ${formatShape(p.shape)}, the spec declares ${formatShape(d.shape)}`);
    }
    out[name] = { data: Float32Array.from(p.data), shape: [...p.shape] };
  }
  const extra = Object.keys(params).filter((k) => !(k in paramDecls));
  if (extra.length) throw new Error(`parameters not declared by the spec: ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', ...' : ''}`);
  return { spec: parsed.spec, layers: parsed.layers, params: out, paramDecls, dim: sizeOf(parsed.spec.event), contextDim: parsed.spec.context?.[0] ?? 0 };
}

/** A deep copy with independent parameter arrays. */
export function cloneFlow(flow: Flow): Flow {
  return flowFromParams(flow.spec, flow.params);
}

export function countParams(flow: Flow, trainableOnly = true): number {
  let n = 0;
  for (const [name, d] of Object.entries(flow.paramDecls)) if (!trainableOnly || d.trainable !== false) n += flow.params[name]!.data.length;
  return n;
}
