import { registerEngineProvider, type EngineProvider, type Flow, type FlowRuntime, type GradientEngine } from '@bijective/core';
import { ORT_ENGINES, ORT_TRAINING_ENGINES, isOrtEngine, type EngineProbes, type OrtEngine } from './engines.js';

/**
 * The ONNX Runtime engines as core's engine seam sees them: one {@link EngineProvider} of
 * family `ort`. The Node and web entry points each register it over their own probes and
 * runner (`@bijective/backend-onnx/node` serves `ort-node-*` and `ort-web-wasm`, `/web` the
 * `ort-web-*` ones); a flow is exported to ONNX in memory and run by ONNX Runtime. With
 * `gradients`, the engines in {@link ORT_TRAINING_ENGINES} that run here also train (`trains:
 * true`): core's gradient graph is exported with the parameters as inputs (`gradients.ts`).
 */
export function registerOrtProvider(
  probes: EngineProbes,
  open: (flow: Flow, engine: OrtEngine) => Promise<FlowRuntime>,
  gradients?: (engine: OrtEngine) => Promise<GradientEngine>,
): EngineProvider {
  const trains = (engine: OrtEngine) => gradients !== undefined && (ORT_TRAINING_ENGINES as readonly string[]).includes(engine);
  const provider: EngineProvider = {
    family: 'ort',
    engines: ORT_ENGINES,
    async status(engine) {
      if (!isOrtEngine(engine)) throw new Error(`ort provider: '${engine}' is not an ONNX Runtime engine (${ORT_ENGINES.join(', ')})`);
      const s = await probes.engineStatus(engine);
      return s.available && trains(engine) ? { ...s, trains: true } : s;
    },
    async openRuntime(flow, engine) {
      return open(flow, await probes.requireEngine(engine));
    },
    ...(gradients
      ? {
          async openGradients(engine: string) {
            const e = await probes.requireEngine(engine);
            if (!trains(e)) throw new Error(`ort provider: '${e}' runs flows but cannot train them here (training engines: ${ORT_TRAINING_ENGINES.join(', ')})`);
            return gradients(e);
          },
        }
      : {}),
  };
  registerEngineProvider(provider);
  return provider;
}
