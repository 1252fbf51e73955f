import { EngineUnavailableError, type EngineStatus as CoreEngineStatus } from '@bijective/core';

/**
 * The ONNX Runtime engines a flow can run on. `ort-node-*` use onnxruntime-node (the
 * native library; `@bijective/backend-onnx/node`), `ort-web-*` onnxruntime-web (WebAssembly,
 * and WebGPU in browsers; `@bijective/backend-onnx/web`, or `/node` for `ort-web-wasm` in Node).
 */
export const ORT_ENGINES = ['ort-node-cpu', 'ort-node-cuda', 'ort-node-tensorrt', 'ort-node-webgpu', 'ort-web-wasm', 'ort-web-webgpu'] as const;
export type OrtEngine = (typeof ORT_ENGINES)[number];

/**
 * The ORT engines that train (run core's gradient graph, `gradients.ts`), where they run:
 * those whose gradients are checked against the float64 reference in this package's tests.
 * The GPU providers run the same operators but are not checked here, so they do not claim it;
 * `ort-web-webgpu` is checked in Chromium (test/browser.test.ts) and computes some gradient
 * models wrong (a multi-scale Glow; Conv of a 3×3 kernel fed as a model input; onnxruntime-web
 * 1.30.0), so it does not train.
 */
export const ORT_TRAINING_ENGINES = ['ort-node-cpu', 'ort-web-wasm'] as const satisfies readonly OrtEngine[];

/** Core's engine status (reason and install hint when unavailable, detail when available), for an ORT engine. */
export interface EngineStatus extends CoreEngineStatus {
  readonly engine: OrtEngine;
  readonly family: 'ort';
}

/** An available engine's status; `detail` says what runs; `trains` for {@link ORT_TRAINING_ENGINES}. */
export function ortAvailable(engine: OrtEngine, detail: string): EngineStatus {
  return { engine, family: 'ort', available: true, detail, trains: (ORT_TRAINING_ENGINES as readonly string[]).includes(engine) };
}

/** An unavailable engine's status: why, and the command that would make it run where one would. */
export function ortUnavailable(engine: OrtEngine, reason: string, install?: string): EngineStatus {
  return { engine, family: 'ort', available: false, reason, ...(install ? { install } : {}), trains: false };
}

/** The ONNX Runtime execution provider behind each engine. */
export const EXECUTION_PROVIDER: Readonly<Record<OrtEngine, string>> = {
  'ort-node-cpu': 'cpu',
  'ort-node-cuda': 'cuda',
  'ort-node-tensorrt': 'tensorrt',
  'ort-node-webgpu': 'webgpu',
  'ort-web-wasm': 'wasm',
  'ort-web-webgpu': 'webgpu',
};

/** Asking for an engine that cannot run here (core's error): says why, and which ORT engines can. */
export class OrtEngineUnavailableError extends EngineUnavailableError {
  constructor(
    engine: string,
    readonly statuses: readonly EngineStatus[],
  ) {
    const own = statuses.find((s) => s.engine === engine);
    const available = statuses.filter((s) => s.available).map((s) => s.engine);
    const why = own ? `${own.reason}${own.install && !own.reason?.includes(own.install) ? ` (install: ${own.install})` : ''}` : `unknown engine; the engines are ${ORT_ENGINES.join(', ')}`;
    super(engine, `engine '${engine}' is not available: ${why}. Available here: ${available.length ? available.join(', ') : 'none'}.`);
  }
}

export function isOrtEngine(name: string): name is OrtEngine {
  return (ORT_ENGINES as readonly string[]).includes(name);
}

/** Engine probing for one ONNX Runtime package (node or web), behind the same three calls. */
export interface EngineProbes {
  /** Whether `engine` can run in this process (probed once, then cached). */
  engineStatus(engine: OrtEngine): Promise<EngineStatus>;
  /** Every engine, available or not here, with the reason. */
  listEngines(): Promise<EngineStatus[]>;
  /** `name` if it is an engine that runs here; otherwise an {@link EngineUnavailableError}. */
  requireEngine(name: string): Promise<OrtEngine>;
}

/**
 * Wraps a probe in a cache and a queue. Probes run one after another: onnxruntime-web
 * initialises its WebAssembly runtime once, and a second initialisation started before the
 * first finished fails ("multiple calls to 'initWasm()'"), which would misreport the second
 * engine as unavailable.
 */
export function engineProbes(probe: (engine: OrtEngine) => Promise<EngineStatus>): EngineProbes {
  const cache = new Map<OrtEngine, Promise<EngineStatus>>();
  let chain: Promise<unknown> = Promise.resolve();
  const engineStatus = (engine: OrtEngine): Promise<EngineStatus> => {
    let s = cache.get(engine);
    if (!s) {
      s = chain.then(() => probe(engine));
      chain = s;
      cache.set(engine, s);
    }
    return s;
  };
  const listEngines = () => Promise.all(ORT_ENGINES.map(engineStatus));
  return {
    engineStatus,
    listEngines,
    async requireEngine(name) {
      if (!isOrtEngine(name) || !(await engineStatus(name)).available) throw new OrtEngineUnavailableError(name, await listEngines());
      return name;
    },
  };
}
