import type { EngineStatus } from '@bijective/core';
import type { Host } from './results.js';

/** The engines the bench knows, per host, in the order they run and are reported. */
export const NODE_ENGINES = ['tfjs-cpu', 'tfjs-wasm', 'tfjs-node', 'tfjs-node-gpu', 'ort-node-cpu', 'ort-node-cuda', 'ort-node-webgpu', 'ort-web-wasm'] as const;
export const BROWSER_ENGINES = ['ort-web-wasm', 'ort-web-webgpu', 'tfjs-wasm', 'tfjs-webgl', 'tfjs-webgpu'] as const;

export const HOST_ENGINES: Record<Host, readonly string[]> = { node: NODE_ENGINES, chromium: BROWSER_ENGINES };

/**
 * Whether an engine can run in a host: core's engine status (from the engine registry, which
 * every backend registers with); `family` and `trains` are absent for an engine no backend listed.
 */
export type Availability = Omit<EngineStatus, 'family' | 'trains'> & Partial<Pick<EngineStatus, 'family' | 'trains'>>;

/**
 * Availability of `wanted` engines from what the backends listed; an engine no backend lists
 * is reported as unavailable with that reason rather than silently dropped.
 */
export function resolveAvailability(wanted: readonly string[], listed: readonly Availability[], where: string): Availability[] {
  return wanted.map(
    (engine) => listed.find((a) => a.engine === engine) ?? { engine, available: false, reason: `no backend lists '${engine}' in ${where}` },
  );
}
