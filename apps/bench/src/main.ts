#!/usr/bin/env node
/**
 * `npm run bench [-- options]`: runs the plan, prints the live table and the summary, and
 * writes `bench-results/<timestamp>/` (results.json, report.md, report.html, charts).
 */
import { resolve } from 'node:path';
import { parseCli } from './cli.js';
import { PlanError, makePlan } from './plan.js';
import { markdownTable } from './report/markdown.js';
import { headline, winnersTable } from './report/tables.js';
import { writeReport } from './report/write.js';
import { runBench } from './run.js';
import { consoleLog, silentLog } from './terminal.js';
import { validateResults } from './validate.js';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const opts = parseCli(argv);
  // npm runs workspace scripts in the workspace folder; results go where `npm run bench` was typed.
  const base = process.env.INIT_CWD ?? process.cwd();
  let plan;
  try {
    plan = makePlan(opts, new Date(), resolve(base));
  } catch (e) {
    if (e instanceof PlanError) {
      console.error(`bench: ${e.message}`);
      return 2;
    }
    throw e;
  }
  plan.out = resolve(base, plan.out);
  const log = opts.quiet ? silentLog : consoleLog;
  // Ctrl-C (or a SIGTERM) once: stop measuring and write the report of what was measured; twice: quit.
  const stop = new AbortController();
  const interrupt = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(130);
    console.error(`\nbench: ${signal}: stopping; writing the report of the cells measured so far (${signal} again quits without it)`);
    stop.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  const results = await runBench(plan, log, ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '), stop.signal);
  const written = await writeReport(results, plan.out);
  const invalid = validateResults(results);
  if (invalid.length) console.error(`results.json has problems:\n  ${invalid.join('\n  ')}`);
  console.log('');
  console.log(headline(results).join('\n'));
  console.log('');
  console.log(markdownTable(winnersTable(results)));
  console.log('');
  console.log(`wrote ${written.files.length} files to ${written.dir}: ${written.files.join(', ')}`);
  const wrong = results.checks.filter((c) => c.status !== 'pass').length;
  if (wrong) console.log(`${wrong} correctness check(s) did not pass; see report.md`);
  return stop.signal.aborted ? 130 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
