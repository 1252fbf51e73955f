import type { Flow } from '../flow/flow.js';
import { CONTEXT_INPUT } from '../flow/context.js';
import { DENSITY_OUTPUTS, traceFlow } from '../flow/trace.js';
import { GraphBuilder, type Graph } from '../graph/graph.js';
import { inlineGraph } from '../graph/inline.js';

/** Output names of {@link densityLossGraph}. */
export const LOSS_OUTPUTS = { loss: 'loss', logProb: 'logProb' } as const;

/**
 * The maximum-likelihood objective of a flow as a graph: input `x` `[N, ...event]` (and a
 * conditional flow's `context` `[N, ...context]`) → `loss` `[]` = −mean_n log p(x_n) in nats
 * per example, and `logProb` `[N]`. Every engine that trains differentiates this one graph
 * (with core's gradient table or its own autodiff), so the objective is written once.
 *
 * Trace it after any data-dependent initialisation: initialisation changes what the trace emits.
 */
export function densityLossGraph(flow: Flow): Graph {
  const g = new GraphBuilder();
  const feeds = { x: g.input('x', ['N', ...flow.spec.event]) } as Record<string, ReturnType<GraphBuilder['input']>>;
  if (flow.spec.context) feeds[CONTEXT_INPUT] = g.input(CONTEXT_INPUT, ['N', ...flow.spec.context]);
  const out = inlineGraph(g, traceFlow(flow, 'density'), feeds);
  const logProb = out[DENSITY_OUTPUTS.logProb]!;
  g.output(LOSS_OUTPUTS.loss, g.neg(g.mean(logProb, [0])));
  g.output(LOSS_OUTPUTS.logProb, logProb);
  return g.build();
}
