import { Command, CommanderError } from 'commander';
import { VERSION } from '@bijective/core';
import { DATASETS } from '../datasets/registry.js';
import { listAllEngines } from '../engines.js';
import { presets } from '../presets/registry.js';
import { registerDensity } from './density.js';
import { registerDistill } from './distill.js';
import { registerEdit } from './edit.js';
import { registerEval } from './eval.js';
import { registerExport } from './export.js';
import { registerInfo } from './info.js';
import { registerSample } from './sample.js';
import { exitStatus } from './common.js';
import { withoutTempNames } from './output.js';
import { registerTrain } from './train.js';

/** The `bijective` command line. Every command has `--help`. */
export function buildProgram(argv: readonly string[] = process.argv.slice(2)): Command {
  const program = new Command('bijective')
    .description('Normalizing flows: train, evaluate, sample and export named presets')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(`bijective: ${str.replace(/^error: /, '')}`) });
  registerTrain(program, argv);
  registerDistill(program, argv);
  registerEval(program);
  registerSample(program);
  registerEdit(program);
  registerDensity(program);
  registerExport(program);
  registerInfo(program);
  program
    .command('presets')
    .description('list the named presets, with the training defaults train uses for them')
    .action(() => {
      for (const p of Object.values(presets)) {
        const t = p.training;
        const training = `steps ${String(t.steps).padEnd(6)} batch ${String(t.batch).padEnd(3)} lr ${t.lr.toExponential(0)}`;
        process.stdout.write(`${p.name.padEnd(22)} ${p.family.padEnd(8)} dataset ${p.dataset.padEnd(8)} ${training}  ${p.description}\n`);
      }
    });
  program
    .command('datasets')
    .description('list the datasets')
    .action(() => {
      for (const [name, what] of Object.entries(DATASETS)) process.stdout.write(`${name.padEnd(13)} ${what}\n`);
    });
  program
    .command('engines')
    .description('list the engines and whether each runs here (and why not)')
    .action(async () => {
      for (const e of await listAllEngines()) process.stdout.write(`${e.engine.padEnd(18)} ${e.available ? 'available  ' : 'unavailable'} ${(e.available ? e.detail : `${e.reason ?? ''}${e.install && !e.reason?.includes(e.install) ? ` (install: ${e.install})` : ''}`) ?? ''}\n`);
    });
  return program;
}

/** First line of an error's message: what the user sees. */
function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  // An error from a write deep inside (a checkpoint save) names the hidden temp file of the
  // atomic write; the user knows the file by its own name.
  return withoutTempNames((msg.split('\n').find((l) => l.trim() !== '') ?? msg).trim());
}

/** Runs the CLI; resolves to the exit code. Errors are one line on stderr, never a stack (set BIJECTIVE_DEBUG=1 for one). */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const program = buildProgram(argv);
  program.exitOverride();
  for (const c of program.commands) c.exitOverride();
  try {
    exitStatus.code = 0;
    await program.parseAsync([...argv], { from: 'user' });
    return exitStatus.code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // commander printed its message (or help, exit 0)
    process.stderr.write(`bijective: ${oneLine(e)}\n`);
    if (process.env.BIJECTIVE_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
    return 1;
  }
}
