import { formatShape, sizeOf } from '../tensor.js';
import type { ParamDecl } from '../layers/layer.js';
import { SpecError } from './fields.js';

/**
 * Size limits of a flow spec, checked before anything is allocated (a spec read from a file
 * with `event: [1e9]` would otherwise abort V8 while building its masks).
 * - event: at most 2^24 values per example (16.7 M: a 3×2048×2048 image fits);
 * - context: at most 2^20 values per example;
 * - parameters: at most 2^28 in all (1 GiB of float32), counted from the declared shapes.
 */
export const SPEC_LIMITS = { eventSize: 2 ** 24, contextSize: 2 ** 20, params: 2 ** 28 } as const;

export function checkEventSize(event: readonly number[], path = 'spec.event'): void {
  const size = sizeOf(event);
  if (size > SPEC_LIMITS.eventSize) throw new SpecError(path, `${formatShape(event)} is ${size} values per example; the limit is ${SPEC_LIMITS.eventSize} (2^24)`);
}

export function checkContextSize(context: readonly number[]): void {
  const size = sizeOf(context);
  if (size > SPEC_LIMITS.contextSize) throw new SpecError('spec.context', `${formatShape(context)} is ${size} context values per example; the limit is ${SPEC_LIMITS.contextSize} (2^20)`);
}

/** Refuses a flow whose declared parameters add up to more than `SPEC_LIMITS.params`, naming the largest. */
export function checkParamCount(decls: Readonly<Record<string, ParamDecl>>): void {
  let total = 0;
  let largest: [string, number] = ['', 0];
  for (const [name, d] of Object.entries(decls)) {
    const n = sizeOf(d.shape);
    total += n;
    if (n > largest[1]) largest = [name, n];
  }
  if (total > SPEC_LIMITS.params) {
    throw new SpecError('spec.layers', `the flow declares ${total} parameters; the limit is ${SPEC_LIMITS.params} (2^28, 1 GiB of float32); the largest is '${largest[0]}' with ${largest[1]}`);
  }
}
