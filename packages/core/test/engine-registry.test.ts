import { describe, expect, it } from 'vitest';
import {
  EngineUnavailableError,
  engineStatus,
  listEngines,
  openGradients,
  openRuntime,
  registerEngineProvider,
  type FlowRuntime,
  type FlowSpec,
} from '../src/index.js';
import { randomFlow, randomInput } from './helpers.js';

const spec: FlowSpec = { version: 1, event: [4], layers: [{ type: 'maf', hidden: [8] }] };

/** A provider whose runtime counts the calls that reach it (the unchecked maths). */
let reached = 0;
registerEngineProvider({
  family: 'fake',
  engines: ['fake-ok', 'fake-missing'],
  async status(engine) {
    return engine === 'fake-ok'
      ? { engine, family: 'fake', available: true, trains: false }
      : { engine, family: 'fake', available: false, reason: 'fake-lib is not installed', install: 'npm install fake-lib', trains: false };
  },
  async openRuntime(flow) {
    const inner: FlowRuntime = {
      engine: 'fake-ok',
      async logProb(x) {
        reached++;
        return new Float64Array(x.shape[0]!);
      },
      async encode(x) {
        reached++;
        return { z: x, logDet: new Float64Array(x.shape[0]!) };
      },
      async decode(z) {
        reached++;
        return z;
      },
      async sample() {
        throw new Error('the registry must draw the noise itself');
      },
      async dispose() {},
    };
    void flow;
    return inner;
  },
});

describe('engine registry', () => {
  it('lists the reference engine as available and training', async () => {
    const all = await listEngines();
    expect(all.find((s) => s.engine === 'reference')).toMatchObject({ available: true, trains: true, family: 'reference' });
    expect((await openGradients('reference')).engine).toBe('reference');
  });

  it('refuses to train on an engine that cannot', async () => {
    await expect(openGradients('fake-ok')).rejects.toThrow(/'fake-ok' runs flows but cannot train them/);
  });

  it('names the unknown engine and the known ones', async () => {
    await expect(engineStatus('nope')).rejects.toThrow(/unknown engine 'nope'.*reference.*fake-ok/);
    await expect(openRuntime(randomFlow(spec), 'nope')).rejects.toBeInstanceOf(EngineUnavailableError);
  });

  it('says why an engine is unavailable, how to install it, and what is available', async () => {
    await expect(openRuntime(randomFlow(spec), 'fake-missing')).rejects.toThrow(
      /'fake-missing' is not available: fake-lib is not installed \(install: npm install fake-lib\); available engines: .*reference/,
    );
  });

  for (const engine of ['reference', 'fake-ok']) {
    it(`checks inputs, draws sample noise and refuses use after dispose (${engine})`, async () => {
      const rt = await openRuntime(randomFlow(spec), engine);
      const before = reached;
      await expect(rt.logProb(randomInput([2, 3]))).rejects.toThrow(/logProb: x/);
      await expect(rt.encode(randomInput([2, 5]))).rejects.toThrow(/encode: x/);
      await expect(rt.decode(randomInput([4]))).rejects.toThrow(/decode: z/);
      expect(reached).toBe(before);
      const s = await rt.sample({ n: 3, seed: 1 });
      expect(s.shape).toEqual([3, 4]);
      expect((await rt.logProb(randomInput([2, 4]))).length).toBe(2);
      await rt.dispose();
      await rt.dispose();
      await expect(rt.logProb(randomInput([2, 4]))).rejects.toThrow(/disposed/);
      await expect(rt.sample({ n: 1 })).rejects.toThrow(/disposed/);
    });
  }
});
