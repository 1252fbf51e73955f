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
export { DensityObjective, type LossAndGrads } from './objective.js';
export { registerGradients } from './gradients.js';
export { Adam, type AdamOptions, type AdamState } from './adam.js';
export { learningRate, type LrDecay, type LrSchedule } from './schedule.js';
export { Batcher, streamSeed, type TrainData } from './batches.js';
export { setDefaultCheckpointIO, type CheckpointIO, type TensorMap } from './checkpoint-io.js';
export { train } from './train.js';
export { TrainingDivergedError, type Metric, type TrainOptions, type TrainProgress, type TrainResult, type TrainerState } from './train-options.js';
