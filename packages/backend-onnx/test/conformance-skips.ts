import type { TestEngine } from './helpers.js';

/**
 * Conformance cases an engine cannot run, each with its reason. Empty: every case runs on
 * both engines.
 */
export const CONFORMANCE_SKIPS: Record<TestEngine, Record<string, string>> = {
  'ort-node-cpu': {},
  'ort-web-wasm': {},
};
