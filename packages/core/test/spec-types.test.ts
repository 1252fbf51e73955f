import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  createFlow,
  layerRegistry,
  type AffineCouplingSpec,
  type FlowSpec,
  type LayerSpec,
  type LayerType,
  type ResolvedLayerSpec,
  type ResolvedLayerSpecOf,
} from '../src/index.js';

/**
 * `LayerSpec` is a union discriminated by `type`, so the type checker reads a literal spec as the
 * run-time checks do. Two halves: the `@ts-expect-error` lines below fail `tsc` (the package's
 * typecheck) if the union stops rejecting them, and the compiler-API test compiles snippets in
 * Vitest itself and asserts which error each one gets, so `vitest run` catches a regression too.
 */

const here = dirname(fileURLToPath(import.meta.url));

/** Never called: its body only has to type-check (or fail to, where marked). */
export function specTypes(): void {
  const good: FlowSpec = {
    version: 1,
    event: [2],
    layers: [
      { type: 'affineCoupling', mask: 'alternating', parity: 0, conditioner: { type: 'mlp', hidden: [8] }, scale: 'sigmoid', scaleFloor: 0.1 },
      { type: 'affineCoupling' },
      { type: 'permute' },
      { type: 'maf', order: 'random', seed: 3 },
    ],
  };
  const typo: FlowSpec = {
    version: 1,
    event: [2],
    // @ts-expect-error misspelled field: 'hiden' is not a field of an affine coupling
    layers: [{ type: 'affineCoupling', mask: 'alternating', parity: 0, conditioner: { type: 'mlp', hidden: [3] }, hiden: 3 }],
  };
  const nested: FlowSpec = {
    version: 1,
    event: [2],
    // @ts-expect-error misspelled field inside the conditioner
    layers: [{ type: 'affineCoupling', conditioner: { type: 'mlp', hiden: [3] } }],
  };
  // @ts-expect-error unknown layer type
  const unknownType: LayerSpec = { type: 'afineCoupling' };
  // @ts-expect-error wrong field type: parity is 0 | 1
  const wrongType: LayerSpec = { type: 'affineCoupling', parity: 2 };
  // @ts-expect-error wrong field type: components is a number
  const wrongNumber: LayerSpec = { type: 'gaussianize', components: '8' };
  // @ts-expect-error a resolved spec has its defaults: alpha is required
  const unresolved: ResolvedLayerSpec = { type: 'logit' };
  // @ts-expect-error an inline literal given to createFlow is checked too
  createFlow({ version: 1, event: [2], layers: [{ type: 'scale', scal: 1 }] });
  // Unknown JSON stays accepted, checked at run time.
  createFlow(JSON.parse('{}') as unknown as Record<string, unknown>);
  createFlow(JSON.parse('{}'));
  // A resolved spec is a valid input spec.
  const again: FlowSpec = createFlow(good).spec;
  void [typo, nested, unknownType, wrongType, wrongNumber, unresolved, again];
}

describe('LayerSpec, the typed layer spec', () => {
  it('has one member per registered layer family', () => {
    // A record over LayerType: a type missing here, or one not in the union, does not compile.
    const families: Record<LayerType, true> = {
      additiveCoupling: true,
      scale: true,
      affineCoupling: true,
      actNorm: true,
      invConv1x1: true,
      squeeze: true,
      split: true,
      maf: true,
      iaf: true,
      permute: true,
      logit: true,
      standardize: true,
      gaussianize: true,
      householder: true,
      splineCoupling: true,
      splineAutoregressive: true,
      mintBlock: true,
    };
    expect(Object.keys(families).sort()).toEqual([...layerRegistry.keys()].sort());
    expectTypeOf<ResolvedLayerSpec['type']>().toEqualTypeOf<LayerType>();
  });

  it('narrows flow.spec.layers by type to the resolved spec, defaults filled in', () => {
    const flow = createFlow({ version: 1, event: [2], layers: [{ type: 'affineCoupling' }] });
    const layer = flow.spec.layers[0]!;
    expectTypeOf(layer).toEqualTypeOf<ResolvedLayerSpec>();
    expectTypeOf<ResolvedLayerSpecOf<'affineCoupling'>>().toEqualTypeOf<AffineCouplingSpec>();
    if (layer.type !== 'affineCoupling') throw new Error(`layer 0 is ${layer.type}`);
    expectTypeOf(layer.scale).toEqualTypeOf<'tanhExp' | 'sigmoid'>();
    expect(layer).toEqual({ type: 'affineCoupling', mask: 'half', parity: 0, conditioner: { type: 'mlp', hidden: [64, 64], activation: 'relu' }, scale: 'tanhExp' });
  });

  /** Each snippet is compiled against the package's sources; `error` is what its diagnostics must say (null: none). */
  const snippets: { name: string; code: string; error: RegExp | null }[] = [
    {
      name: 'a misspelled field',
      code: "export const s: FlowSpec = { version: 1, event: [2], layers: [{ type: 'affineCoupling', mask: 'alternating', parity: 0, conditioner: { type: 'mlp', hidden: [3] }, hiden: 3 }] };",
      error: /'hiden' does not exist in type 'AffineCouplingInput'/,
    },
    {
      name: 'a misspelled conditioner field',
      code: "export const s: LayerSpec = { type: 'splineCoupling', conditioner: { type: 'cnn', hiden: 3 } };",
      error: /'hiden' does not exist in type 'CnnConditionerInput'\. Did you mean to write 'hidden'\?/,
    },
    { name: 'an unknown type', code: "export const s: LayerSpec = { type: 'afineCoupling' };", error: /Type '"afineCoupling"' is not assignable to type '[^']*"affineCoupling"[^']*'\. Did you mean '"affineCoupling"'\?/ },
    { name: 'a wrong field type', code: "export const s: LayerSpec = { type: 'invConv1x1', variant: 'LU' };", error: /Type '"LU"' is not assignable to type '"plain" \| "lu" \| undefined'\. Did you mean '"lu"'\?/ },
    { name: 'a string for a number', code: "export const s: LayerSpec = { type: 'mintBlock', iterations: '50' };", error: /Type 'string' is not assignable to type 'number'/ },
    {
      name: 'a typo in a literal given to createFlow',
      code: "createFlow({ version: 1, event: [4], layers: [{ type: 'householder', reflection: 2 }] });",
      error: /'reflection' does not exist in type 'HouseholderInput'\. Did you mean to write 'reflections'\?/,
    },
    {
      name: 'every family with only its type, and every field given',
      code: [
        'const minimal: LayerSpec[] = [',
        "  { type: 'additiveCoupling' }, { type: 'scale' }, { type: 'affineCoupling' }, { type: 'actNorm' }, { type: 'invConv1x1' }, { type: 'squeeze' },",
        "  { type: 'split' }, { type: 'maf' }, { type: 'iaf' }, { type: 'permute' }, { type: 'logit' }, { type: 'standardize' }, { type: 'gaussianize' },",
        "  { type: 'householder' }, { type: 'splineCoupling' }, { type: 'splineAutoregressive' }, { type: 'mintBlock' },",
        '];',
        'const full: LayerSpec[] = [',
        "  { type: 'affineCoupling', mask: 'checkerboard', parity: 1, conditioner: { type: 'cnn', hidden: 16 }, scale: 'sigmoid', scaleFloor: 0.1 },",
        "  { type: 'maf', hidden: [8], activation: 'tanh', order: 'random', seed: 1, logScaleClamp: 3 },",
        "  { type: 'splineAutoregressive', hidden: [8], activation: 'relu', order: 'reverse', bins: 4, bound: 2, minBinWidth: 1e-3, minBinHeight: 1e-3, minDerivative: 1e-3 },",
        "  { type: 'mintBlock', hidden: 4, order: 'reverse', iterations: 20, damping: 0.5 },",
        "  { type: 'gaussianize', components: 4, inverseIterations: 30 }, { type: 'split', prior: 'normal' }, { type: 'permute', kind: 'random', seed: 2 },",
        '];',
        'const fromDisk: Record<string, unknown> = JSON.parse(\'{"version": 1, "event": [2], "layers": [{"type": "scale"}]}\');',
        'createFlow(fromDisk);',
        "const flow = createFlow({ version: 1, event: [2], layers: minimal.slice(0, 2) });",
        'const resolved: FlowSpec = flow.spec;',
        "const l = flow.spec.layers[0]!;",
        "export const hidden: number[] | null = l.type === 'additiveCoupling' && l.conditioner.type === 'mlp' ? l.conditioner.hidden : null;",
        'export { full, resolved };',
      ].join('\n'),
      error: null,
    },
  ];

  it('rejects typos at compile time, naming the field or type (TypeScript compiler API on snippets)', () => {
    const header = "import { createFlow, type FlowSpec, type LayerSpec } from '../src/index.js';\n";
    const files = new Map(snippets.map((s, i) => [join(here, `__spec_snippet_${i}.ts`), header + s.code]));
    const configPath = join(here, '..', 'tsconfig.json');
    const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
    if (!config) throw new Error(`cannot read ${configPath}`);
    const host = ts.createCompilerHost(config.options);
    const { getSourceFile, fileExists, readFile } = host;
    host.getSourceFile = (name, lang, ...rest) => {
      const text = files.get(name);
      return text !== undefined ? ts.createSourceFile(name, text, lang) : getSourceFile.call(host, name, lang, ...rest);
    };
    host.fileExists = (name) => files.has(name) || fileExists.call(host, name);
    host.readFile = (name) => files.get(name) ?? readFile.call(host, name);
    const program = ts.createProgram({ rootNames: [...files.keys()], options: { ...config.options, noEmit: true }, host });
    const results = snippets.map((s, i) => {
      const file = program.getSourceFile(join(here, `__spec_snippet_${i}.ts`))!;
      const messages = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      return { name: s.name, messages };
    });
    for (const [i, s] of snippets.entries()) {
      const { messages } = results[i]!;
      if (s.error === null) expect.soft(messages, s.name).toEqual([]);
      else expect.soft(messages.join('\n'), s.name).toMatch(s.error);
    }
  });
});
