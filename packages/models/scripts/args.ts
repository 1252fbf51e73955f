/**
 * The value after `--name` on the command line of a script; `def` when the flag is absent, and
 * an error naming the flag when it is absent and has no default.
 */
export function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1]) return process.argv[i + 1]!;
  if (def === undefined) throw new Error(`${process.argv[1] ?? 'script'}: pass --${name}`);
  return def;
}
