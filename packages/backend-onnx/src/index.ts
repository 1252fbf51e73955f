/**
 * @bijective/backend-onnx: exports Bijective flows to ONNX (opset 17, IR 8) and runs
 * them on ONNX Runtime. This entry point is engine-free (no onnxruntime import at run
 * time), so browser bundles can use it; the runners live in `@bijective/backend-onnx/node`
 * and `@bijective/backend-onnx/web`.
 */
export { exportOnnx, modelName, METADATA_KEYS, ONNX_NAMES, type ExportOptions, type ModelRole, type OnnxExport } from './export.js';
export { lowerGraph, onnxLowering, type LoopLowering, type LowerOptions, type OnnxBuildContext } from './lower.js';
export { IR_VERSION, OPSET_VERSION, encodeModel } from './model.js';
export { inspectModel, OnnxModelError, type BijectiveModelInfo } from './inspect.js';
export { tritonConfig, tritonModelName, tritonRepository, type TritonOptions } from './triton.js';
export { exportGradientModel, ortGradientEngine, type GradientModel } from './gradients.js';
export { OrtEngineUnavailableError, EXECUTION_PROVIDER, ORT_ENGINES, ORT_TRAINING_ENGINES, isOrtEngine, ortAvailable, ortUnavailable, type EngineStatus, type OrtEngine } from './engines.js';
export { EngineUnavailableError } from '@bijective/core';
export { createOrtRuntime, loadModels, type ModelSource, type OrtFlowRuntime, type OrtModule } from './runtime.js';
