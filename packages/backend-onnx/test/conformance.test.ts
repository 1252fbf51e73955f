import { describeConformance } from '@bijective/core/testing';
import { ortRuntime } from '../src/node.js';
import type { LoopLowering } from '../src/lower.js';
import { runOnOrt, type TestEngine } from './helpers.js';
import { CONFORMANCE_SKIPS } from './conformance-skips.js';

/**
 * Core's conformance suite (every primitive, every layer/flow case, against the float64
 * reference) on both engines tests can run here, with loops unrolled (the default) and,
 * on ort-node-cpu, lowered to ONNX Loop as well.
 */
const targets: { engine: TestEngine; loops: LoopLowering }[] = [
  { engine: 'ort-node-cpu', loops: 'unroll' },
  { engine: 'ort-node-cpu', loops: 'loop' },
  { engine: 'ort-web-wasm', loops: 'unroll' },
];

for (const { engine, loops } of targets) {
  describeConformance({
    engine: loops === 'unroll' ? engine : `${engine} (ONNX Loop)`,
    runGraph: (graph, inputs, params) => runOnOrt(engine, graph, inputs, params, loops),
    createRuntime: (flow) => ortRuntime(flow, { engine, exportOptions: { loops } }),
    skip: CONFORMANCE_SKIPS[engine],
  });
}
