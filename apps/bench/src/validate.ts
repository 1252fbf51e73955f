import { RESULTS_SCHEMA, TASKS, type BenchResults } from './results.js';

/**
 * Checks that a parsed `results.json` is a complete, self-consistent bench result: the
 * schema tag, machine and options present, every measurement and check naming a known
 * engine and preset, timed rows with positive, ordered statistics and the derived columns
 * consistent with them. Returns the problems found (empty when valid).
 */
export function validateResults(json: unknown): string[] {
  const problems: string[] = [];
  const fail = (s: string) => problems.push(s);
  if (typeof json !== 'object' || json === null) return ['not a JSON object'];
  const r = json as BenchResults;
  if (r.schema !== RESULTS_SCHEMA) fail(`schema is ${JSON.stringify(r.schema)}, expected ${RESULTS_SCHEMA}`);
  for (const k of ['startedAt', 'finishedAt', 'command'] as const) if (typeof r[k] !== 'string') fail(`${k} missing`);
  if (!(typeof r.durationS === 'number' && r.durationS >= 0)) fail('durationS missing or negative');
  const m = r.machine;
  if (!m || typeof m.cpuModel !== 'string' || !(m.cores >= 1) || !(m.memoryBytes > 0) || typeof m.os !== 'string' || typeof m.node !== 'string') fail('machine is incomplete (cpuModel, cores, memoryBytes, os, node)');
  if (!r.options || !Array.isArray(r.options.presets) || !Array.isArray(r.options.batches)) fail('options missing');
  if (!Array.isArray(r.engines) || !Array.isArray(r.presets) || !Array.isArray(r.checks) || !Array.isArray(r.measurements)) {
    fail('engines, presets, checks and measurements must be arrays');
    return problems;
  }
  const engines = new Map(r.engines.map((e) => [e.id, e]));
  for (const e of r.engines) {
    if (e.id !== `${e.host}/${e.engine}`) fail(`engine id ${e.id} does not match ${e.host}/${e.engine}`);
    if (!['ran', 'skipped', 'failed'].includes(e.status)) fail(`engine ${e.id}: status ${e.status}`);
    if (e.status !== 'ran' && !e.reason) fail(`engine ${e.id} is ${e.status} without a reason`);
  }
  const presets = new Map(r.presets.map((p) => [p.name, p]));
  for (const p of r.presets) {
    for (const t of ['logProb', 'sample'] as const) if (!(p.flops?.[t]?.flops > 0)) fail(`preset ${p.name}: no flop count for ${t}`);
    if (p.flops?.train !== undefined && !(p.flops.train.flops > 0)) fail(`preset ${p.name}: train flop count is not positive`);
    if (p.weights?.source !== 'checkpoint' && p.weights?.source !== 'seeded') fail(`preset ${p.name}: weights source missing`);
  }
  for (const c of r.checks) {
    if (!engines.has(c.engineId)) fail(`check names unknown engine ${c.engineId}`);
    if (!presets.has(c.preset)) fail(`check names unknown preset ${c.preset}`);
    if (!['pass', 'wrong', 'error'].includes(c.status)) fail(`check ${c.engineId} ${c.preset} ${c.task}: status ${c.status}`);
  }
  for (const x of r.measurements) {
    const where = `${x.engineId} ${x.preset} ${x.task} @${x.batch}`;
    const e = engines.get(x.engineId);
    if (!e) fail(`measurement names unknown engine ${x.engineId}`);
    else if (e.status === 'skipped') fail(`${where}: measured, but the engine is marked skipped`);
    const p = presets.get(x.preset);
    if (!p) fail(`measurement names unknown preset ${x.preset}`);
    if (!TASKS.includes(x.task)) fail(`${where}: unknown task`);
    if (x.status === 'ok' || x.status === 'wrong') {
      const t = x.timing;
      if (!t) {
        fail(`${where}: ${x.status} without a timing`);
        continue;
      }
      if (!(t.medianMs > 0 && t.p10Ms > 0 && t.p10Ms <= t.medianMs && t.medianMs <= t.p90Ms)) fail(`${where}: timing not positive and ordered (p10 ${t.p10Ms}, median ${t.medianMs}, p90 ${t.p90Ms})`);
      if (!Array.isArray(t.samplesMs) || t.samplesMs.length !== t.samples) fail(`${where}: ${t.samples} samples declared, ${t.samplesMs?.length} recorded`);
      const check = r.checks.find((c) => c.engineId === x.engineId && c.preset === x.preset && c.task === x.task);
      if (!check) fail(`${where}: timed with no correctness check`);
      else if ((check.status === 'pass') !== (x.status === 'ok')) fail(`${where}: status ${x.status} but its check is ${check.status}`);
      if (p && x.throughput !== undefined && Math.abs(x.throughput - x.batch / (t.medianMs / 1000)) > 1e-6 * x.throughput) fail(`${where}: throughput does not match batch / median`);
      if (p && x.gflops !== undefined) {
        const flops = p.flops[x.task]?.flops;
        const expected = flops === undefined ? NaN : (flops * x.batch) / (t.medianMs / 1000) / 1e9;
        if (flops === undefined) fail(`${where}: GFLOP/s given, but the preset has no ${x.task} flop count`);
        else if (Math.abs(x.gflops - expected) > 1e-6 * expected) fail(`${where}: GFLOP/s does not match countFlops × batch / median`);
      }
    } else if (x.status !== 'error' && x.status !== 'skipped') fail(`${where}: status ${x.status}`);
    else if (!x.error) fail(`${where}: ${x.status} without a reason`);
  }
  return problems;
}
