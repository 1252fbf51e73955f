import type { EngineJob, HostEvent } from './host.js';

/**
 * Runs an engine's job in a host (`start`: one worker or one browser for the presets given),
 * with a per-preset time limit: a preset that runs past `presetTimeoutMs` is stopped (its
 * host killed), reported through `onTimeout`, and the engine goes on with the presets after
 * it in a fresh host. Any other failure propagates.
 */
export async function runEngine(
  job: EngineJob,
  onEvent: (e: HostEvent) => void,
  start: (part: EngineJob, events: (e: HostEvent) => void, signal: AbortSignal) => Promise<void>,
  presetTimeoutMs: number,
  onTimeout: (preset: string, why: string) => void,
): Promise<void> {
  let remaining = job.presets;
  while (remaining.length) {
    const ctrl = new AbortController();
    let current = remaining[0]!.preset;
    let timer: NodeJS.Timeout | undefined;
    const why = () => `${current} ran past the ${presetTimeoutMs / 1000} s per-preset limit`;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => ctrl.abort(new Error(why())), presetTimeoutMs);
    };
    const events = (e: HostEvent) => {
      if (e.type === 'preset') {
        current = e.preset;
        arm();
      }
      onEvent(e);
    };
    arm();
    try {
      await start({ ...job, presets: remaining }, events, ctrl.signal);
      remaining = [];
    } catch (e) {
      if (!ctrl.signal.aborted) throw e;
      onTimeout(current, `timed out: ${why()}`);
      remaining = remaining.slice(remaining.findIndex((p) => p.preset === current) + 1);
    } finally {
      clearTimeout(timer);
    }
  }
}
