import { FLOW_SPEC_VERSION, GraphBuilder, Rng, VERSION, type ParamTensor } from '@bijective/core';
import { METADATA_KEYS, ONNX_NAMES, encodeModel, lowerGraph } from '@bijective/backend-onnx';

/**
 * The roofline reference: one fp32 matrix product `X [M, K] · W [K, K]`, run by the same
 * ONNX Runtime engine, with the same session options, as the flows on `ort-node-cpu`. Its
 * GFLOP/s (2·M·K² per call) is the peak a dense-GEMM-bound engine can reach on this machine;
 * each row's roofline column is its GFLOP/s over this one.
 *
 * The model is built from core's graph builder and lowered by backend-onnx (so it is the
 * same `MatMul` node with an initializer that flows export), then labelled as a Bijective
 * `sample` model (input `z`, output `x`, a spec naming only the event `[K]`) so that
 * backend-onnx's runner loads it: `decode(z)` then runs exactly the product.
 */
export function gemmModel(k: number, seed = 1): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('z', ['N', k]);
  const w = g.param('w', [k, k]);
  g.output('x', g.matmul(x, w));
  const rng = new Rng(seed);
  const data = new Float32Array(k * k);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() / Math.sqrt(k);
  const params: Record<string, ParamTensor> = { w: { data, shape: [k, k] } };
  const lowered = lowerGraph(g.build(), params, { inputs: { z: ONNX_NAMES.z }, outputs: { x: ONNX_NAMES.x } }, { name: 'gemm' });
  const spec = { version: FLOW_SPEC_VERSION, event: [k], layers: [], name: `gemm-${k}` };
  return encodeModel(lowered.graph, {
    producerVersion: VERSION,
    docString: `fp32 GEMM probe: x = z · W, W [${k}, ${k}]`,
    metadata: { [METADATA_KEYS.role]: 'sample', [METADATA_KEYS.spec]: JSON.stringify(spec), [METADATA_KEYS.event]: JSON.stringify([k]) },
  });
}

/** Floating-point operations of one call: M·K² multiply-adds. */
export const gemmFlops = (m: number, k: number) => 2 * m * k * k;
