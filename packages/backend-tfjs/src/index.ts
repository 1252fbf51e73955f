export { tfjsLowering, type TfContext } from './lower.js';
export { GraphProgram, type Prepared, type RunOptions } from './program.js';
export { hostLinalg, logAbsDetOp, matrixInverseOp, type HostLinalg } from './linalg.js';
export {
  ENGINE_NAMES,
  EngineError,
  engineStatus,
  listEngines,
  registerEngine,
  useEngine,
  wasmEngine,
  isEngineName,
  type Engine,
  type EngineDef,
  type EngineName,
  type EngineStatus,
  type WasmEngineOptions,
} from './engines.js';
export { ParamSet, type ParamSetOptions } from './params.js';
export { tfjsEngineProvider } from './provider.js';
export { tfjsRuntime, startEngine, type TfjsRuntime, type TfjsRuntimeOptions } from './runtime.js';
export { runGraphTfjs } from './run-graph.js';
export { registerWasmKernels } from './kernels/wasm.js';
export { registerGradients } from './gradients.js';
export { tfjsGradients } from './gradient-engine.js';
export { train, type TrainOptions } from './train.js';
// The trainer's engine-independent parts live in core; re-exported for callers of the tfjs trainer.
export {
  Adam,
  Batcher,
  TrainingDivergedError,
  learningRate,
  setDefaultCheckpointIO,
  streamSeed,
  type AdamOptions,
  type AdamState,
  type CheckpointIO,
  type LrDecay,
  type LrSchedule,
  type Metric,
  type TensorMap,
  type TrainData,
  type TrainProgress,
  type TrainResult,
  type TrainerState,
} from '@bijective/core';
