import type { Flow } from '../flow/flow.js';
import { guardRuntime } from '../runtime/guard.js';
import { referenceGradientEngine } from '../grad/engine.js';
import { referenceRuntime } from '../runtime/reference.js';
import type { FlowRuntime } from '../runtime/types.js';
import type { EngineProvider, EngineStatus, GradientEngine } from './types.js';

/** Asking for an engine that is unknown or does not run here: says why, and which engines do. */
export class EngineUnavailableError extends Error {
  override name = 'EngineUnavailableError';
  constructor(
    readonly engine: string,
    message: string,
  ) {
    super(message);
  }
}

const providers = new Map<string, EngineProvider>();

/** Registers (or replaces) the provider of a family. Backends call this from their entry points. */
export function registerEngineProvider(provider: EngineProvider): void {
  providers.set(provider.family, provider);
}

/** The registered providers, in registration order. */
export function engineProviders(): readonly EngineProvider[] {
  return [...providers.values()];
}

function providerOf(engine: string): EngineProvider | undefined {
  for (const p of providers.values()) if (p.engines.includes(engine)) return p;
  return undefined;
}

/** Every engine of every registered provider, with whether it runs here and why not. */
export async function listEngines(): Promise<EngineStatus[]> {
  const out: EngineStatus[] = [];
  for (const p of providers.values()) for (const e of p.engines) out.push(await p.status(e));
  return out;
}

/** The status of one engine; an unknown name is an {@link EngineUnavailableError} naming the known ones. */
export async function engineStatus(engine: string): Promise<EngineStatus> {
  const p = providerOf(engine);
  if (!p) {
    const known = [...providers.values()].flatMap((q) => q.engines);
    throw new EngineUnavailableError(engine, `unknown engine '${engine}'; known engines: ${known.join(', ') || 'none registered'}`);
  }
  return p.status(engine);
}

async function requireEngine(engine: string, forTraining: boolean): Promise<EngineProvider> {
  const s = await engineStatus(engine);
  const p = providerOf(engine)!;
  if (!s.available) {
    const why = `${s.reason ?? 'not available here'}${s.install ? ` (install: ${s.install})` : ''}`;
    const others = (await listEngines()).filter((e) => e.available).map((e) => e.engine);
    throw new EngineUnavailableError(
      engine,
      `engine '${engine}' is not available: ${why}; available engines: ${others.join(', ') || 'none'}`,
    );
  }
  if (forTraining && (!s.trains || !p.openGradients)) {
    throw new EngineUnavailableError(engine, `engine '${engine}' runs flows but cannot train them`);
  }
  return p;
}

/** A runtime for `flow` on `engine`, or an {@link EngineUnavailableError} saying why not. */
export async function openRuntime(flow: Flow, engine: string): Promise<FlowRuntime> {
  const rt = await (await requireEngine(engine, false)).openRuntime(flow, engine);
  return guardRuntime(rt, flow.spec);
}

/** The gradient engine of `engine` (what core's trainer drives), or an error saying why not. */
export async function openGradients(engine: string): Promise<GradientEngine> {
  return (await requireEngine(engine, true)).openGradients!(engine);
}

/**
 * Core's own provider: the float64 reference interpreter, always available. It trains: its
 * GradientEngine runs core's gradient graph in float64, the oracle for every other engine.
 */
registerEngineProvider({
  family: 'reference',
  engines: ['reference'],
  async status(engine) {
    return { engine, family: 'reference', available: true, detail: 'float64 TypeScript interpreter', trains: true };
  },
  async openRuntime(flow) {
    return referenceRuntime(flow);
  },
  async openGradients() {
    return referenceGradientEngine;
  },
});
