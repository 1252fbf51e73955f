import { referenceRuntime, type Flow, type Tensor } from '@bijective/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exportOnnx, ortRuntime, type OrtFlowRuntime } from '../src/node.js';
import type { LoopLowering } from '../src/lower.js';
import { randomFlow, randomTensor, toleranceRatio, type TestEngine } from './helpers.js';
import { SPEC_CASES, missingLayers } from './specs.js';

/**
 * Exported flows of every preset shape, on ONNX Runtime with every graph optimisation,
 * against the float64 reference. 1e-4 relative is the issue's bar: float32 through ~20
 * layers accumulates ~1e-6 relative, so a wrong layer, latent order or folded value fails.
 */
const RTOL = 1e-4;
const ATOL = 1e-4;
const BATCH = 4;

function close(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>) {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  expect(toleranceRatio(actual, expected, RTOL, ATOL), `${what}: worst |error| / (${ATOL} + ${RTOL}·|ref|)`).toBeLessThanOrEqual(1);
}

for (const c of SPEC_CASES) {
  const missing = missingLayers(c);
  const loopModes: LoopLowering[] = c.sequential ? ['auto', 'unroll', 'loop'] : ['auto'];
  for (const engine of ['ort-node-cpu', 'ort-web-wasm'] as TestEngine[]) {
    for (const loops of loopModes) {
      describe.skipIf(missing.length > 0)(`${c.name} on ${engine}${c.sequential ? `, loops ${loops}` : ''}${missing.length ? ` (core lacks ${missing.join(', ')})` : ''}`, () => {
        let flow: Flow;
        let rt: OrtFlowRuntime;
        let x: Tensor;
        beforeAll(async () => {
          // 0.05: every layer clearly away from the identity, yet no coupling scale near 0 (at 0.1 the
          // Glow case samples values ~1e30, where float32 cannot agree with float64 to 1e-4).
          flow = randomFlow(c.spec, 3, 0.05);
          x = randomTensor([BATCH, ...c.spec.event], 5);
          rt = await ortRuntime(exportOnnx(flow, { loops }), { engine });
        });
        afterAll(async () => {
          await rt?.dispose();
        });

        test('log_prob and z match the float64 reference', async () => {
          const ref = referenceRuntime(flow);
          const expected = await ref.encode(x);
          close('log_prob', await rt.logProb(x), await ref.logProb(x));
          const got = await rt.encode(x);
          expect(got.z.shape).toEqual([BATCH, ...c.spec.event]);
          close('z', got.z.data, expected.z.data);
          close('log_det', got.logDet, expected.logDet);
        });

        test("sample.onnx(z) inverts log_prob.onnx's z", async () => {
          const { z } = await rt.encode(x);
          const back = await rt.decode(z);
          close('decode(encode(x))', back.data, x.data);
        });

        test('the same seed gives the same sample as the reference runtime', async () => {
          const options = { n: 3, seed: 11, temperature: 0.7 };
          const got = await rt.sample(options);
          const want = await referenceRuntime(flow).sample(options);
          expect(got.shape).toEqual(want.shape);
          close('sample', got.data, want.data);
        });
      });
    }
  }
}
