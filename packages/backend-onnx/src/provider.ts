import { registerEngineProvider, type EngineProvider, type Flow, type FlowRuntime } from '@bijective/core';
import { ORT_ENGINES, isOrtEngine, type EngineProbes, type OrtEngine } from './engines.js';

/**
 * The ONNX Runtime engines as core's engine seam sees them: one {@link EngineProvider} of
 * family `ort`. The Node and web entry points each register it over their own probes and
 * runner (`@bijective/backend-onnx/node` serves `ort-node-*` and `ort-web-wasm`, `/web` the
 * `ort-web-*` ones); a flow is exported to ONNX in memory and run by ONNX Runtime.
 */
export function registerOrtProvider(probes: EngineProbes, open: (flow: Flow, engine: OrtEngine) => Promise<FlowRuntime>): EngineProvider {
  const provider: EngineProvider = {
    family: 'ort',
    engines: ORT_ENGINES,
    async status(engine) {
      if (!isOrtEngine(engine)) throw new Error(`ort provider: '${engine}' is not an ONNX Runtime engine (${ORT_ENGINES.join(', ')})`);
      return probes.engineStatus(engine);
    },
    async openRuntime(flow, engine) {
      return open(flow, await probes.requireEngine(engine));
    },
  };
  registerEngineProvider(provider);
  return provider;
}
