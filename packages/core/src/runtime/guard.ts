import { checkContext, type ContextOptions } from '../flow/context.js';
import type { Tensor } from '../tensor.js';
import { checkInput, sampleNoise } from './check.js';
import type { FlowRuntime } from './types.js';

/** What the edge checks need to know of a flow: its event shape and, if conditional, its context shape. */
export interface GuardSpec {
  readonly event: readonly number[];
  readonly context?: readonly number[];
}

/**
 * What a backend implements: the maths on inputs already checked (a conditional flow's context
 * already `[N, K]`). `sample` is not part of it: the guard draws the noise and calls `decode`.
 */
export type UncheckedRuntime = Omit<FlowRuntime, 'sample'>;

/**
 * The edge checks of every runtime, in one place: inputs are checked against the flow's event
 * shape (`checkInput`), a conditional flow's context against its context shape (`checkContext`,
 * which also repeats a single `[K]` context for every row), `sample` draws its noise with
 * `sampleNoise` and hands it to `decode`, and any call after `dispose` is a clear error naming
 * the engine. Backends implement the unchecked maths; core's engine registry (and each backend's
 * direct constructor) wrap it.
 */
export function guardRuntime(inner: UncheckedRuntime, spec: GuardSpec | readonly number[]): FlowRuntime {
  if ((inner as unknown as Record<symbol, unknown>)[GUARDED]) return inner as FlowRuntime;
  const { event, context: contextShape } = Array.isArray(spec) ? { event: spec as readonly number[], context: undefined } : (spec as GuardSpec);
  let disposed = false;
  const live = (op: string) => {
    if (disposed) throw new Error(`${op}: the '${inner.engine}' runtime was disposed; open a new one`);
  };
  /** Checks `t` (named `what: name`) and the context; returns the options to pass on. */
  const check = (what: string, name: string, t: Tensor, options: ContextOptions | undefined): ContextOptions | undefined => {
    live(what);
    const n = checkInput(`${what}: ${name}`, t, event);
    const context = checkContext(what, options?.context, contextShape, n);
    return context ? { ...options, context } : options;
  };
  const decode = async (z: Tensor, options?: ContextOptions, what = 'decode') => inner.decode(z, check(what, 'z', z, options));
  const guarded: FlowRuntime = {
    engine: inner.engine,
    async logProb(x, options) {
      return inner.logProb(x, check('logProb', 'x', x, options));
    },
    async encode(x, options) {
      return inner.encode(x, check('encode', 'x', x, options));
    },
    decode: (z, options) => decode(z, options),
    async sample(options) {
      live('sample');
      return decode(sampleNoise(options, event), options.context === undefined ? undefined : { context: options.context }, 'sample');
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await inner.dispose();
    },
  };
  Object.defineProperty(guarded, GUARDED, { value: true });
  return guarded;
}

/** Marks a runtime already wrapped by {@link guardRuntime}, so the registry does not wrap twice. */
export const GUARDED = Symbol.for('bijective.guardedRuntime');
