/** Number formats shared by the terminal table, report.md and report.html. */

/** A duration given in ms, in the unit that keeps 3 significant digits readable: `42.3 µs`, `1.25 ms`, `3.41 s`. */
export function formatMs(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '–';
  if (ms < 1e-3) return `${(ms * 1e6).toPrecision(3)} ns`;
  if (ms < 1) return `${(ms * 1e3).toPrecision(3)} µs`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  return `${(ms / 1000).toPrecision(3)} s`;
}

/** `12.3k`, `4.56M` (3 significant digits). */
export function formatCount(v: number | undefined | null): string {
  if (v === undefined || v === null || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${(v / 1e3).toPrecision(3)}k`;
  if (a >= 1) return v.toPrecision(3);
  return v === 0 ? '0' : v.toPrecision(2);
}

export function formatGflops(v: number | undefined | null): string {
  if (v === undefined || v === null || !Number.isFinite(v)) return '–';
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toPrecision(3) : v.toPrecision(2);
}

export function formatPercent(fraction: number | undefined | null): string {
  if (fraction === undefined || fraction === null || !Number.isFinite(fraction)) return '–';
  const p = fraction * 100;
  return `${p >= 10 ? p.toFixed(0) : p >= 1 ? p.toFixed(1) : p.toPrecision(2)}%`;
}

export function formatBytes(b: number | undefined | null): string {
  if (b === undefined || b === null || !Number.isFinite(b)) return '–';
  if (b >= 1024 ** 3) return `${(b / 1024 ** 3).toPrecision(3)} GiB`;
  if (b >= 1024 ** 2) return `${(b / 1024 ** 2).toPrecision(3)} MiB`;
  if (b >= 1024) return `${(b / 1024).toPrecision(3)} KiB`;
  return `${b} B`;
}

/** `2.4×` */
export function formatRatio(r: number | undefined | null): string {
  if (r === undefined || r === null || !Number.isFinite(r)) return '–';
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(r >= 1.995 ? 1 : 2)}×`;
}

/** p10–p90 of a timing. */
export function formatRange(lo: number | undefined, hi: number | undefined): string {
  if (lo === undefined || hi === undefined) return '–';
  return `${formatMs(lo)}–${formatMs(hi)}`;
}
