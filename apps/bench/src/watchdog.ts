import type { EngineJob, HostEvent } from './host.js';

/**
 * Runs an engine's job in a host (`start`: one worker or one browser for the presets given),
 * with a per-preset time limit: a preset that runs past `presetTimeoutMs` is stopped (its
 * host killed), reported through `onTimeout`, and the engine goes on with the presets after
 * it in a fresh host. Any other failure propagates.
 *
 * `stop` (the user interrupting the bench) ends the run at once: the host is stopped and
 * no further preset starts. It returns `'stopped'` then, `'done'` otherwise.
 */
export async function runEngine(
  job: EngineJob,
  onEvent: (e: HostEvent) => void,
  start: (part: EngineJob, events: (e: HostEvent) => void, signal: AbortSignal) => Promise<void>,
  presetTimeoutMs: number,
  onTimeout: (preset: string, why: string) => void,
  stop?: AbortSignal,
): Promise<'done' | 'stopped'> {
  let remaining = job.presets;
  while (remaining.length) {
    if (stop?.aborted) return 'stopped';
    const ctrl = new AbortController();
    const onStop = () => ctrl.abort(new Error('the bench was interrupted'));
    stop?.addEventListener('abort', onStop);
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
      if (stop?.aborted) return 'stopped';
      if (!ctrl.signal.aborted) throw e;
      onTimeout(current, `timed out: ${why()}`);
      remaining = remaining.slice(remaining.findIndex((p) => p.preset === current) + 1);
    } finally {
      clearTimeout(timer);
      stop?.removeEventListener('abort', onStop);
    }
  }
  return stop?.aborted ? 'stopped' : 'done';
}
