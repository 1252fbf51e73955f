import { registerEngineProvider, type EngineProvider } from '@bijective/core';
import { ENGINE_NAMES, engineStatus, isEngineName } from './engines.js';
import { tfjsGradients } from './gradient-engine.js';
import { tfjsRuntime } from './runtime.js';

/**
 * The tfjs engines as core's engine seam sees them: one {@link EngineProvider} of family
 * `tfjs`, registered when this package is imported. Its statuses are `listEngines()`'s (the
 * Node entry point adds tfjs-node, tfjs-node-gpu and the wasm files before anything probes);
 * its runtimes are `tfjsRuntime`'s (already checked by core's `guardRuntime`); its gradient
 * engines are `tfjsGradients`' (tfjs autodiff over the lowering), what core's trainer drives.
 */
export const tfjsEngineProvider: EngineProvider = {
  family: 'tfjs',
  engines: ENGINE_NAMES,
  async status(engine) {
    if (!isEngineName(engine)) throw new Error(`tfjs provider: '${engine}' is not a tfjs engine (${ENGINE_NAMES.join(', ')})`);
    return engineStatus(engine);
  },
  openRuntime: (flow, engine) => tfjsRuntime(flow, { engine }),
  openGradients: (engine) => tfjsGradients(engine),
};

registerEngineProvider(tfjsEngineProvider);
