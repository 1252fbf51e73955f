#!/usr/bin/env node
import { main } from './main.js';

/**
 * The `bijective` executable. Exits explicitly once the command is done: engines may leave
 * worker threads or timers behind (ONNX Runtime Web's thread pool) that would otherwise keep
 * the process alive. stdout is drained first so nothing printed is lost.
 */
// A reader that goes away (`bijective eval ... | head`) is not an error: stop quietly. Without
// a listener the EPIPE would surface as an uncaught exception (which the tfjs wasm runtime's
// own handler rethrows with its whole minified source).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

main().then(
  (code) => process.stdout.write('', () => process.exit(code)),
  (e: unknown) => {
    process.stderr.write(`bijective: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
    process.exit(1);
  },
);
