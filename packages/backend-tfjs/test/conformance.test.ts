import { describeConformance } from '@bijective/core/testing';
import { runGraphTfjs, tfjsRuntime } from '../src/index.js';

for (const engine of ['tfjs-cpu', 'tfjs-wasm']) {
  describeConformance({
    engine,
    runGraph: (graph, inputs, params) => runGraphTfjs(graph, inputs, params, { engine }),
    createRuntime: (flow) => tfjsRuntime(flow, { engine }),
  });
}
