import { Rng, createFlow, type Flow, type FlowSpec, type Tensor } from '@bijective/core';
import { perturbParams } from '@bijective/core/testing';
import { vi } from 'vitest';
import { main } from '../src/cli/main.js';

/**
 * A flow from `spec` with every trainable parameter moved by N(0, std²) off its
 * initialisation, so no layer is the identity (fresh couplings and MADEs are, by design).
 */
export function perturbedFlow(spec: FlowSpec, std = 0.02, seed = 3): Flow {
  return perturbParams(createFlow(spec, { seed }), std, seed + 100);
}

/** True when the flow's first layer is a logit (its inputs must lie in (0, 1)). */
export function wantsUnitInterval(spec: FlowSpec): boolean {
  return spec.event.length === 3 || spec.layers[0]?.type === 'logit';
}

/**
 * A float32-representable batch: in (0.02, 0.98) for flows on [0, 1) data (images, logit
 * first), else N(0, 1.5²).
 */
export function inputFor(spec: FlowSpec, n: number, seed = 11): Tensor {
  const rng = new Rng(seed);
  const size = n * spec.event.reduce((a, b) => a * b, 1);
  const unit = wantsUnitInterval(spec);
  const data = Float64Array.from({ length: size }, () => (unit ? 0.02 + 0.96 * rng.uniform() : 1.5 * rng.normal()));
  return { data: Float64Array.from(Float32Array.from(data)), shape: [n, ...spec.event] };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** What a CLI run returned and wrote. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process (cheap), capturing stdout and stderr. */
export async function runCliInProcess(args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
