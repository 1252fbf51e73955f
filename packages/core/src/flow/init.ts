import { runReference } from '../runtime/reference.js';
import { checkInput } from '../runtime/check.js';
import { formatShape, type Tensor } from '../tensor.js';
import type { Flow } from './flow.js';
import { INIT_PREFIX, traceFlow } from './trace.js';

/**
 * Data-dependent initialisation (Glow's ActNorm): trace the data-init pass, run it on a
 * first batch, and write the parameters it computes into `flow.params`.
 *
 * Engines do the same with their own runner: trace with `{ dataInit: true }`, run the
 * graph, hand the `init:*` outputs to {@link applyInitOutputs}.
 */

/**
 * Writes the `init:<param>` outputs of a data-init pass into `flow.params` (float32, in
 * place); other outputs are ignored. Returns the names of the parameters written.
 */
export function applyInitOutputs(flow: Flow, outputs: Readonly<Record<string, { data: ArrayLike<number> }>>): string[] {
  // Check every output before writing any, so a bad one leaves the flow untouched.
  const writes: [Float32Array, ArrayLike<number>, string][] = [];
  for (const [key, value] of Object.entries(outputs)) {
    if (!key.startsWith(INIT_PREFIX)) continue;
    const name = key.slice(INIT_PREFIX.length);
    const p = flow.params[name];
    if (!p) throw new Error(`applyInitOutputs: output '${key}' names parameter '${name}', which the flow does not declare`);
    if (value.data.length !== p.data.length) {
      throw new Error(`applyInitOutputs: output '${key}' has ${value.data.length} values, parameter '${name}' has shape ${formatShape(p.shape)} (${p.data.length} values)`);
    }
    for (let i = 0; i < value.data.length; i++) {
      const v = value.data[i]!;
      if (!Number.isFinite(v)) throw new Error(`applyInitOutputs: output '${key}' has the non-finite value ${v} at index ${i}`);
    }
    writes.push([p.data, value.data, name]);
  }
  for (const [target, source] of writes) for (let i = 0; i < source.length; i++) target[i] = source[i]!;
  return writes.map(([, , name]) => name);
}

/**
 * Initialises the data-dependent parameters of `flow` from the batch `x` `[N, ...event]`
 * on the float64 reference interpreter. Returns false, changing nothing, when no layer
 * needs it (every ActNorm already initialised, e.g. a loaded model).
 */
export function initializeFromData(flow: Flow, x: Tensor): boolean {
  checkInput('initializeFromData: x', x, flow.spec.event);
  const graph = traceFlow(flow, 'density', { dataInit: true });
  if (!Object.keys(graph.outputs).some((k) => k.startsWith(INIT_PREFIX))) return false;
  applyInitOutputs(flow, runReference(flow, graph, { x }));
  return true;
}
