/** Errors in a flow spec name the path inside the spec, e.g. `layers[3].conditioner.hidden[1]`. */
export class SpecError extends Error {
  override name = 'SpecError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

export type Obj = Record<string, unknown>;

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function object(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SpecError(path, `expected an object, got ${show(v)}`);
  return v as Obj;
}

/** Rejects fields a layer does not know (a typo must not be silently ignored). */
export function onlyKeys(o: Obj, path: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new SpecError(`${path}.${k}`, `unknown field; expected one of ${keys.join(', ')}`);
  }
}

export function num(
  o: Obj,
  key: string,
  path: string,
  opts: { int?: boolean; min?: number; max?: number; minExclusive?: number; default?: number } = {},
): number {
  const v = o[key] ?? opts.default;
  const p = `${path}.${key}`;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new SpecError(p, `expected a finite number, got ${show(v)}`);
  if (opts.int && !Number.isInteger(v)) throw new SpecError(p, `expected an integer, got ${v}`);
  if (opts.min !== undefined && v < opts.min) throw new SpecError(p, `expected >= ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) throw new SpecError(p, `expected <= ${opts.max}, got ${v}`);
  if (opts.minExclusive !== undefined && v <= opts.minExclusive) throw new SpecError(p, `expected > ${opts.minExclusive}, got ${v}`);
  return v;
}

export function oneOf<T extends string>(o: Obj, key: string, path: string, choices: readonly T[], def?: T): T {
  const v = o[key] ?? def;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new SpecError(`${path}.${key}`, `expected one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${show(v)}`);
  }
  return v as T;
}

export function bool(o: Obj, key: string, path: string, def: boolean): boolean {
  const v = o[key] ?? def;
  if (typeof v !== 'boolean') throw new SpecError(`${path}.${key}`, `expected true or false, got ${show(v)}`);
  return v;
}

export function intArray(o: Obj, key: string, path: string, opts: { min?: number; default?: number[]; minLength?: number } = {}): number[] {
  const v = o[key] ?? opts.default;
  const p = `${path}.${key}`;
  if (!Array.isArray(v)) throw new SpecError(p, `expected an array of integers, got ${show(v)}`);
  if (opts.minLength !== undefined && v.length < opts.minLength) throw new SpecError(p, `expected at least ${opts.minLength} entries, got ${v.length}`);
  v.forEach((x, i) => {
    if (!Number.isInteger(x) || (opts.min !== undefined && (x as number) < opts.min)) {
      throw new SpecError(`${p}[${i}]`, `expected an integer${opts.min !== undefined ? ` >= ${opts.min}` : ''}, got ${show(x)}`);
    }
  });
  return [...(v as number[])];
}
