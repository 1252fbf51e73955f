import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * `metrics.jsonl`: one JSON object per line, appended as the run goes. Each line is one
 * `appendFile` call (a single write(2) with O_APPEND), so a line is written whole or not at
 * all and concurrent readers never see half a record; writes are chained, so lines keep their
 * order. A resumed run appends to the same file.
 */
export class MetricsLog {
  private chain: Promise<void> = Promise.resolve();
  private ready: Promise<unknown>;

  constructor(readonly path: string) {
    this.ready = mkdir(dirname(path), { recursive: true });
  }

  append(record: Record<string, unknown>): void {
    const line = `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`;
    this.chain = this.chain.then(async () => {
      await this.ready;
      await appendFile(this.path, line);
    });
  }

  /** Resolves when every line so far is on disk (rejects if one failed). */
  flush(): Promise<void> {
    return this.chain;
  }
}
