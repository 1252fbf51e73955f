import type { FlowSpec, LayerSpec } from '@bijective/core';
import { FLOW_SPEC_VERSION } from '@bijective/core';

/** Thrown when preset options cannot make a valid flow (e.g. an image too small to squeeze). */
export class PresetError extends Error {
  override name = 'PresetError';
}

/** Event shape checks shared by the families. */
export function isImage(event: readonly number[]): event is [number, number, number] {
  return event.length === 3;
}

export function checkEvent(family: string, event: readonly number[]): void {
  if (!(event.length === 1 || event.length === 3) || !event.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new PresetError(`${family}: event must be [D] or [C, H, W] of positive integers, got [${event.join(', ')}]`);
  }
}

export function positiveInt(family: string, what: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new PresetError(`${family}: ${what} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** The coupling parity of the i-th coupling in an alternating sequence: 0, 1, 0, 1, ... */
export function parityOf(i: number): 0 | 1 {
  return i % 2 === 0 ? 0 : 1;
}

export function flowSpec(event: readonly number[], layers: LayerSpec[], name?: string): FlowSpec {
  return { version: FLOW_SPEC_VERSION, event: [...event], layers, ...(name !== undefined ? { name } : {}) };
}
