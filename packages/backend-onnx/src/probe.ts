import { DataType, NameScope, OnnxGraph, encodeModel, valueInfo } from './model.js';

let probe: Uint8Array | undefined;

/** The smallest model (`y = x + x`, float32 [1]) to find out whether an execution provider starts. */
export function probeModel(): Uint8Array {
  if (probe) return probe;
  const g = new OnnxGraph(new NameScope(), 'probe');
  g.inputs.push(valueInfo('x', DataType.FLOAT, [1]));
  g.node('Add', ['x', 'x'], {}, ['y']);
  g.outputs.push(valueInfo('y', DataType.FLOAT, [1]));
  probe = encodeModel(g.toProto(), { producerVersion: 'probe' });
  return probe;
}
