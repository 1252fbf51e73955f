import { checkInput, sampleNoise } from './check.js';
import type { FlowRuntime } from './types.js';

/**
 * The edge checks of every runtime, in one place: inputs are checked against the flow's event
 * shape (`checkInput`), `sample` draws its noise with `sampleNoise` and hands it to `decode`,
 * and any call after `dispose` is a clear error naming the engine. Backends implement the
 * unchecked maths; core's engine registry (and each backend's direct constructor) wrap it.
 */
export function guardRuntime(inner: FlowRuntime, event: readonly number[]): FlowRuntime {
  let disposed = false;
  const live = (op: string) => {
    if (disposed) throw new Error(`${op}: the '${inner.engine}' runtime was disposed; open a new one`);
  };
  const decode = async (z: Parameters<FlowRuntime['decode']>[0]) => {
    live('decode');
    checkInput('decode: z', z, event);
    return inner.decode(z);
  };
  if ((inner as unknown as Record<symbol, unknown>)[GUARDED]) return inner;
  const guarded: FlowRuntime = {
    engine: inner.engine,
    async logProb(x) {
      live('logProb');
      checkInput('logProb: x', x, event);
      return inner.logProb(x);
    },
    async encode(x) {
      live('encode');
      checkInput('encode: x', x, event);
      return inner.encode(x);
    },
    decode,
    async sample(options) {
      live('sample');
      return decode(sampleNoise(options, event));
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
