#!/usr/bin/env node
import { main } from './main.js';

/**
 * The `bijective` executable. Exits explicitly once the command is done: engines may leave
 * worker threads or timers behind (ONNX Runtime Web's thread pool) that would otherwise keep
 * the process alive. stdout is drained first so nothing printed is lost.
 */
main().then(
  (code) => process.stdout.write('', () => process.exit(code)),
  (e: unknown) => {
    process.stderr.write(`bijective: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
    process.exit(1);
  },
);
