import { describe, expect, it, test } from 'vitest';
import { createFlow, SpecError, SPEC_LIMITS, type FlowSpec, type LayerSpec } from '../src/index.js';

const good: FlowSpec = {
  version: 1,
  event: [4],
  name: 'tiny',
  layers: [{ type: 'additiveCoupling', conditioner: { type: 'mlp', hidden: [3] } }, { type: 'scale' }],
};

describe('flow specs', () => {
  it('fills defaults and survives a JSON round trip', () => {
    const flow = createFlow(good, { seed: 5 });
    expect(flow.spec.layers[0]).toEqual({ type: 'additiveCoupling', mask: 'half', parity: 0, conditioner: { type: 'mlp', hidden: [3], activation: 'relu' } });
    const again = createFlow(JSON.parse(JSON.stringify(flow.spec)), { seed: 5 });
    expect(again.spec).toEqual(flow.spec);
    for (const [k, p] of Object.entries(flow.params)) expect(Array.from(again.params[k]!.data)).toEqual(Array.from(p.data));
  });

  it('initialises deterministically from the seed', () => {
    const a = createFlow(good, { seed: 1 }).params['layers.0.conditioner.w0']!.data;
    const b = createFlow(good, { seed: 1 }).params['layers.0.conditioner.w0']!.data;
    const c = createFlow(good, { seed: 2 }).params['layers.0.conditioner.w0']!.data;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(Math.max(...Array.from(a, Math.abs))).toBeGreaterThan(0);
  });

  const bad: [string, unknown, RegExp][] = [
    ['unknown layer type', { ...good, layers: [{ type: 'glowish' }] }, /^spec\.layers\[0\]\.type: unknown layer type "glowish"; known: .*additiveCoupling/],
    ['bad field value', { ...good, layers: [{ type: 'additiveCoupling', parity: 2 }] }, /^spec\.layers\[0\]\.parity: expected <= 1, got 2/],
    ['unknown field', { ...good, layers: [{ type: 'scale', scal: 1 }] }, /^spec\.layers\[0\]\.scal: unknown field/],
    ['nested field', { ...good, layers: [{ type: 'additiveCoupling', conditioner: { type: 'mlp', hidden: [3, 'x'] } }] }, /^spec\.layers\[0\]\.conditioner\.hidden\[1\]: expected an integer >= 1, got "x"/],
    ['impossible shape', { ...good, layers: [{ type: 'additiveCoupling', mask: 'checkerboard' }] }, /^spec\.layers\[0\]\.mask: mask 'checkerboard' does not apply to input \[4\]/],
    ['too few features', { ...good, event: [1] }, /^spec\.layers\[0\]\.mask: mask 'half' needs at least 2 features/],
    ['bad event', { ...good, event: [2, 3] }, /^spec\.event: expected \[D\] or \[C, H, W\], got \[2, 3\]/],
    ['bad version', { ...good, version: 9 }, /^spec\.version: unsupported version 9/],
    ['no layers', { ...good, layers: [] }, /^spec\.layers: expected a non-empty array/],
  ];
  for (const [what, spec, message] of bad) {
    it(`rejects ${what} with the path in the spec`, () => {
      expect(() => createFlow(spec as FlowSpec)).toThrow(SpecError);
      expect(() => createFlow(spec as FlowSpec)).toThrow(message);
    });
  }
});

describe('spec size limits, checked before anything is allocated', () => {
  const coupling = (hidden: number[]): LayerSpec => ({ type: 'additiveCoupling', mask: 'half', parity: 0, conditioner: { type: 'mlp', hidden, activation: 'relu' } });
  test('an event of 1e9 values is refused by its size, not a V8 abort', () => {
    expect(() => createFlow({ version: 1, event: [1e9], layers: [coupling([8])] })).toThrow(new SpecError('spec.event', `[1000000000] is 1000000000 values per example; the limit is ${SPEC_LIMITS.eventSize} (2^24)`));
    expect(() => createFlow({ version: 1, event: [3, 4096, 4096], layers: [coupling([8])] })).toThrow(/spec\.event: \[3, 4096, 4096\] is 50331648 values per example/);
  });
  test('parameters beyond 2^28 are refused, naming the largest', () => {
    expect(() => createFlow({ version: 1, event: [4], layers: [coupling([1e6, 1e6])] })).toThrow(/spec\.layers: the flow declares \d+ parameters; the limit is 268435456 .* the largest is 'layers\.0\.[\w.]+' with 1000000000000/);
    expect(() => createFlow({ version: 1, event: [2], context: [2 ** 21], base: 'conditionalGaussian', layers: [coupling([8])] })).toThrow(/spec\.context: \[2097152\] is 2097152 context values per example; the limit is 1048576/);
  });
  test('a spec at the limits that fits is built', () => {
    const flow = createFlow({ version: 1, event: [2 ** 12], layers: [coupling([16])] });
    expect(flow.dim).toBe(4096);
  });
});
