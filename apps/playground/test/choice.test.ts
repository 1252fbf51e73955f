import { describe, expect, test } from 'vitest';
import { BROWSER_ENGINES, defaultEngine, defaultTrainer, type BrowserEngine } from '../src/choice.js';

const TRAINS = new Set(['tfjs-webgpu', 'tfjs-webgl', 'ort-web-wasm', 'tfjs-wasm', 'tfjs-cpu', 'reference']);

/** Statuses of every browser engine: `available` runs, `software` runs on a software GPU. */
function statuses(available: readonly string[], software: readonly string[] = []): BrowserEngine[] {
  return BROWSER_ENGINES.map((engine) => ({
    engine,
    family: engine.split('-')[0]!,
    available: available.includes(engine) || software.includes(engine),
    trains: TRAINS.has(engine),
    ...(software.includes(engine) ? { software: 'software adapter (google swiftshader)' } : {}),
    ...(available.includes(engine) || software.includes(engine) ? {} : { reason: 'not here' }),
  }));
}

describe('the default engine', () => {
  test('a hardware GPU engine comes first, onnxruntime-web before tfjs', () => {
    expect(defaultEngine(statuses(['ort-web-webgpu', 'tfjs-webgpu', 'tfjs-webgl', 'ort-web-wasm', 'tfjs-wasm', 'reference']))).toBe('ort-web-webgpu');
    expect(defaultEngine(statuses(['tfjs-webgpu', 'tfjs-webgl', 'ort-web-wasm', 'reference']))).toBe('tfjs-webgpu');
    expect(defaultEngine(statuses(['tfjs-webgl', 'tfjs-wasm', 'reference']))).toBe('tfjs-webgl');
  });

  test('software GPU adapters are skipped for WebAssembly (the headless Chromium case)', () => {
    expect(defaultEngine(statuses(['ort-web-wasm', 'tfjs-wasm', 'tfjs-cpu', 'reference'], ['ort-web-webgpu', 'tfjs-webgpu', 'tfjs-webgl']))).toBe('ort-web-wasm');
    expect(defaultEngine(statuses(['tfjs-wasm', 'reference'], ['ort-web-webgpu']))).toBe('tfjs-wasm');
  });

  test('the order is the preference list, not the order of the statuses given', () => {
    expect(defaultEngine(statuses(['reference', 'tfjs-cpu', 'tfjs-wasm']).reverse())).toBe('tfjs-wasm');
  });

  test('only a software GPU or nothing at all', () => {
    expect(defaultEngine(statuses([], ['tfjs-webgl']))).toBe('tfjs-webgl');
    expect(defaultEngine(statuses([]))).toBeUndefined();
  });
});

describe('the default training engine', () => {
  test('WebAssembly first, whatever the page engine is', () => {
    expect(defaultTrainer(statuses(['ort-web-webgpu', 'tfjs-webgpu', 'ort-web-wasm', 'tfjs-wasm', 'reference']))).toBe('tfjs-wasm');
    expect(defaultTrainer(statuses(['ort-web-webgpu', 'ort-web-wasm', 'reference']))).toBe('ort-web-wasm');
  });

  test('an engine that cannot train is never chosen; a hardware GPU before a software one', () => {
    expect(defaultTrainer(statuses(['ort-web-webgpu', 'tfjs-webgl'], ['tfjs-webgpu']))).toBe('tfjs-webgl');
    expect(defaultTrainer(statuses(['ort-web-webgpu']))).toBeUndefined();
  });
});
