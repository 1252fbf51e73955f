import { describe, expect, it } from 'vitest';
import type { EngineJob, HostEvent, PresetJob } from '../src/host.js';
import { QUICK_TIMING } from '../src/timing.js';
import { runEngine } from '../src/watchdog.js';

const preset = (name: string): PresetJob => ({ preset: name, spec: { version: 1, event: [2], layers: [] }, domain: 'normal', seed: 1, checks: [], cases: [] });
const job: EngineJob = { engine: 'fake', presets: ['a', 'b', 'c'].map(preset), timing: QUICK_TIMING, maxCallMs: 1000 };

describe('the per-preset time limit', () => {
  it('stops a preset that hangs, reports it, and goes on with the next presets in a fresh host', async () => {
    const starts: string[][] = [];
    const events: string[] = [];
    const timeouts: [string, string][] = [];
    await runEngine(
      job,
      (e) => void (e.type === 'preset' && events.push(e.preset)),
      async (part, emit, signal) => {
        starts.push(part.presets.map((p) => p.preset));
        for (const p of part.presets) {
          emit({ type: 'preset', preset: p.preset } as HostEvent);
          // 'b' never finishes: only the abort ends it, as killing a worker would.
          if (p.preset === 'b') await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
          else await new Promise((r) => setTimeout(r, 10));
        }
      },
      60,
      (p, why) => timeouts.push([p, why]),
    );
    expect(starts).toEqual([['a', 'b', 'c'], ['c']]);
    expect(events).toEqual(['a', 'b', 'c']);
    expect(timeouts).toEqual([['b', 'timed out: b ran past the 0.06 s per-preset limit']]);
  });

  it('gives each preset its own time: slow presets that each fit are not stopped', async () => {
    const timeouts: string[] = [];
    await runEngine(
      job,
      () => undefined,
      async (part, emit) => {
        for (const p of part.presets) {
          emit({ type: 'preset', preset: p.preset });
          await new Promise((r) => setTimeout(r, 40));
        }
      },
      100,
      (p) => timeouts.push(p),
    );
    expect(timeouts).toEqual([]);
  });

  it('passes other failures on', async () => {
    await expect(runEngine(job, () => undefined, async () => Promise.reject(new Error('worker exited (code 3)')), 1000, () => undefined)).rejects.toThrow('worker exited (code 3)');
  });

  it('stops at once when the bench is interrupted: the running host is aborted, no later preset starts', async () => {
    const stop = new AbortController();
    const starts: string[][] = [];
    const timeouts: string[] = [];
    let aborted: unknown;
    const outcome = await runEngine(
      job,
      () => undefined,
      async (part, emit, signal) => {
        starts.push(part.presets.map((p) => p.preset));
        for (const p of part.presets) {
          emit({ type: 'preset', preset: p.preset });
          if (p.preset === 'b') {
            setTimeout(() => stop.abort(), 10);
            await new Promise((_, reject) =>
              signal.addEventListener('abort', () => {
                aborted = signal.reason;
                reject(signal.reason);
              }),
            );
          }
        }
      },
      10_000,
      (p) => timeouts.push(p),
      stop.signal,
    );
    expect(outcome).toBe('stopped');
    expect(starts).toEqual([['a', 'b', 'c']]);
    expect(String(aborted)).toMatch(/interrupted/);
    expect(timeouts).toEqual([]);
    // Already interrupted: nothing starts.
    const none: string[] = [];
    expect(await runEngine(job, () => undefined, async () => void none.push('started'), 10_000, () => undefined, stop.signal)).toBe('stopped');
    expect(none).toEqual([]);
  });
});
