import { formatShape, type Shape } from '../tensor.js';
import type { Graph } from './graph.js';
import type { Node } from './primitives.js';

/** Work per example: multiply-adds of matmul/conv2d/conv2dWeightGrad, and other elementwise/reduction operations. */
export interface FlopCount {
  /** Multiply-accumulates in matmul, conv2d and conv2dWeightGrad. */
  macs: number;
  /** Elementwise, reduction and data-movement element operations. */
  other: number;
  /** `2 * macs + other`: the figure GFLOP/s is computed from. */
  flops: number;
}

function perExample(shape: Shape): number {
  if (shape[0] !== 'N') return 0; // computed once per call, not per example
  let n = 1;
  for (const d of shape) if (d !== 'N') n *= d;
  return n;
}

const FREE = new Set(['input', 'param', 'constant', 'reshape']);

/**
 * Counts the work of one example through `graph`. Parameter-only values (no batch
 * dimension) are computed once per call and not counted; loops count `count` bodies.
 */
export function countFlops(graph: Graph): FlopCount {
  let macs = 0;
  let other = 0;
  for (const node of graph.nodes) {
    const nodes = graph.nodes;
    if (node.op === 'matmul') {
      const a = nodes[node.inputs[0]!]!;
      macs += perExample(node.shape) * (a.shape[a.shape.length - 1] as number);
    } else if (node.op === 'conv2d') {
      const w = nodes[node.inputs[1]!]!.shape as number[];
      macs += perExample(node.shape) * w[1]! * w[2]! * w[3]!;
    } else if (node.op === 'conv2dWeightGrad') {
      // One multiply-add per filter entry and output position of each example (x's batch).
      const dy = nodes[node.inputs[1]!]!.shape;
      macs += perExample(dy) * (node.shape[1] as number) * (node.shape[2] as number) * (node.shape[3] as number);
    } else if (node.op === 'loop') {
      const body = countFlops(node.attrs.body);
      macs += node.attrs.count * body.macs;
      other += node.attrs.count * body.other;
    } else if (node.op === 'sum' || node.op === 'mean' || node.op === 'max') {
      other += perExample(nodes[node.inputs[0]!]!.shape);
    } else if (!FREE.has(node.op)) {
      other += perExample(node.shape);
    }
  }
  return { macs, other, flops: 2 * macs + other };
}

function describeAttrs(node: Node): string {
  switch (node.op) {
    case 'input':
    case 'param':
      return `'${node.attrs.name}'`;
    case 'constant':
      return node.attrs.values.length <= 4 ? `[${node.attrs.values.join(', ')}]` : `<${node.attrs.values.length} values>`;
    case 'loop':
      return `count=${node.attrs.count}, body=<${node.attrs.body.nodes.length} nodes>`;
    default: {
      const entries = Object.entries(node.attrs as Record<string, unknown>);
      return entries.map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`).join(', ');
    }
  }
}

/** One line per node: `%7 = conv2d(%3, %5; pads=[1, 1, 1, 1]) : [N, 64, 14, 14]`. */
export function printGraph(graph: Graph): string {
  const lines = graph.nodes.map((n) => {
    const args = [n.inputs.map((i) => `%${i}`).join(', '), describeAttrs(n)].filter(Boolean).join('; ');
    return `%${n.id} = ${n.op}(${args}) : ${formatShape(n.shape)}${n.dtype === 'bool' ? ' bool' : ''}`;
  });
  const outs = Object.entries(graph.outputs).map(([k, v]) => `${k}=%${v}`);
  return [...lines, `outputs: ${outs.join(', ')}`].join('\n');
}
