import { guardRuntime, type Flow, type FlowRuntime, type Tensor } from '@bijective/core';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-web';
import { METADATA_KEYS, ONNX_NAMES, exportOnnx, type ExportOptions, type ModelRole, type OnnxExport } from './export.js';
import { OnnxModelError, expectedOutputShape, inspectModel, type BijectiveModelInfo } from './inspect.js';
import type { OrtEngine } from './engines.js';

/** The part of the onnxruntime JS API the runner uses; onnxruntime-node and onnxruntime-web both provide it. */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}

/** What a runner can be built from: a flow (exported in memory), both exported models, or one of them. */
export type ModelSource = Flow | OnnxExport | { logProb?: Uint8Array; sample?: Uint8Array } | Uint8Array;

export interface LoadedModel {
  bytes: Uint8Array;
  info: BijectiveModelInfo;
  source: string;
}

export type LoadedModels = Partial<Record<ModelRole, LoadedModel>>;

function isFlow(v: unknown): v is Flow {
  return typeof v === 'object' && v !== null && 'spec' in v && 'layers' in v && 'params' in v;
}

/** Validates the models of `source` (see {@link inspectModel}) and checks both belong to the same flow. */
export function loadModels(
  source: ModelSource,
  exportOptions: ExportOptions = {},
  labels: { logProb?: string; sample?: string; single?: string } = {},
): LoadedModels {
  if (isFlow(source)) source = exportOnnx(source, exportOptions);
  const found: LoadedModels = {};
  const add = (bytes: Uint8Array, name: string) => {
    const info = inspectModel(bytes, name);
    if (found[info.role]) throw new OnnxModelError(`${name}: a second ${info.role} model was given (${found[info.role]!.source} is one already)`);
    found[info.role] = { bytes, info, source: name };
  };
  if (source instanceof Uint8Array) add(source, labels.single ?? 'model');
  else if (typeof source === 'object' && source !== null) {
    if (source.logProb !== undefined) add(source.logProb, labels.logProb ?? 'log_prob model');
    if (source.sample !== undefined) add(source.sample, labels.sample ?? 'sample model');
  }
  checkLoaded(found);
  return found;
}

/** At least one model, and two models only when they describe the same flow. */
export function checkLoaded(found: LoadedModels): void {
  const { log_prob: lp, sample: s } = found;
  if (!lp && !s) throw new OnnxModelError('no model given: expected a Flow, { logProb, sample } bytes, or the bytes of one exported .onnx file');
  if (lp && s && JSON.stringify(lp.info.spec) !== JSON.stringify(s.info.spec)) {
    throw new OnnxModelError(`${lp.source} and ${s.source} were exported from different flows (their '${METADATA_KEYS.spec}' metadata differ)`);
  }
}

/** A {@link FlowRuntime} over ONNX Runtime sessions, with what it loaded. */
export interface OrtFlowRuntime extends FlowRuntime {
  readonly engine: OrtEngine;
  /** Event shape without the batch dimension. */
  readonly event: readonly number[];
  /** What each loaded file declares (role, spec, version, metrics). */
  readonly models: Readonly<Partial<Record<ModelRole, BijectiveModelInfo>>>;
}

function toFloat32(t: Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
}

/** Creates one session per loaded model and wraps them in the common runtime face. */
export async function createOrtRuntime(
  ort: OrtModule,
  engine: OrtEngine,
  models: LoadedModels,
  sessionOptions: InferenceSession.SessionOptions,
): Promise<OrtFlowRuntime> {
  const event = (models.log_prob ?? models.sample)!.info.event;
  const open = async (m: LoadedModel | undefined) => {
    if (!m) return undefined;
    try {
      return await ort.InferenceSession.create(m.bytes, sessionOptions);
    } catch (e) {
      throw new OnnxModelError(`${m.source}: ONNX Runtime (${engine}) could not load it: ${(e as Error).message}`);
    }
  };
  const density = await open(models.log_prob);
  let sampler: InferenceSession | undefined;
  try {
    sampler = await open(models.sample);
  } catch (e) {
    await density?.release();
    throw e;
  }
  const need = (s: InferenceSession | undefined, what: string, role: ModelRole) => {
    if (!s) throw new OnnxModelError(`${engine}: ${what} needs the ${role}.onnx model, which was not loaded`);
    return s;
  };
  // A conditional flow's models take a second input `context` [N, K] (its shape is in the spec metadata).
  const contextShape = (models.log_prob ?? models.sample)!.info.spec.context;
  /** Inputs are checked by core's guardRuntime (shape against `event`; context made `[N, K]`). */
  const feeds = (name: string, t: Tensor, context: Tensor | undefined) => {
    const n = t.shape[0]!;
    const out: Record<string, OrtTensor> = { [name]: new ort.Tensor('float32', toFloat32(t), [n, ...event]) };
    if (context) out[ONNX_NAMES.context] = new ort.Tensor('float32', toFloat32(context), [n, contextShape![0]!]);
    return out;
  };
  /**
   * What a session returned, checked against the declared event: every output the caller reads
   * is float32 of shape `[n, ...event]` (z, x) or `[n]` (log_prob, log_det). A model whose graph
   * computes another shape than its metadata declares is refused, not read past its end.
   */
  const checked = (out: Record<string, OrtTensor>, names: readonly string[], n: number, model: LoadedModel | undefined) => {
    for (const name of names) {
      const t = out[name];
      const want = expectedOutputShape(name, event, n)!;
      if (!t) throw new OnnxModelError(`${model?.source ?? 'model'}: ONNX Runtime returned no output '${name}'`);
      if (t.type !== 'float32' || t.dims.length !== want.length || t.dims.some((d, i) => Number(d) !== want[i])) {
        throw new OnnxModelError(`${model?.source ?? 'model'}: output '${name}' is ${t.type} [${t.dims.join(', ')}], the spec's event makes it float32 [${want.join(', ')}] for ${n} inputs`);
      }
    }
    return out;
  };
  const runDensity = async (x: Tensor, what: string, reads: readonly string[], context?: Tensor) =>
    checked(await need(density, what, 'log_prob').run(feeds(ONNX_NAMES.x, x, context)), reads, x.shape[0]!, models.log_prob);
  const spec = { event, ...(contextShape ? { context: contextShape } : {}) };
  // Noise for `sample` comes from core's generator (in the guard), so every engine draws the same z for a seed.
  const guarded = guardRuntime(
    {
      engine,
      async logProb(x, options) {
        const out = await runDensity(x, 'logProb', [ONNX_NAMES.logProb], options?.context);
        return out[ONNX_NAMES.logProb]!.data as Float32Array;
      },
      async encode(x, options) {
        const out = await runDensity(x, 'encode', [ONNX_NAMES.z, ONNX_NAMES.logDet], options?.context);
        return { z: { data: out[ONNX_NAMES.z]!.data as Float32Array, shape: [...out[ONNX_NAMES.z]!.dims] }, logDet: out[ONNX_NAMES.logDet]!.data as Float32Array };
      },
      async decode(z, options) {
        const out = checked(await need(sampler, 'decode/sample', 'sample').run(feeds(ONNX_NAMES.z, z, options?.context)), [ONNX_NAMES.x], z.shape[0]!, models.sample);
        return { data: out[ONNX_NAMES.x]!.data as Float32Array, shape: [z.shape[0]!, ...event] };
      },
      async dispose() {
        await density?.release();
        await sampler?.release();
      },
    },
    spec,
  );
  return Object.assign(guarded, { engine, event, models: Object.fromEntries(Object.entries(models).map(([k, m]) => [k, m.info])) }) as OrtFlowRuntime;
}
