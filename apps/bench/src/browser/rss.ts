import { readFileSync } from 'node:fs';

/** Resident set size of a process from `/proc/<pid>/status` (Linux), in bytes; undefined when unreadable. */
export function readRss(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export const BROWSER_RSS_KIND =
  'Chromium renderer + GPU process RSS (sum of /proc VmRSS, polled every 50 ms while the cell ran): JS heap, WebAssembly memory and, for WebGL/WebGPU, the GPU process (SwiftShader buffers included)';

/**
 * Polls the summed RSS of a set of processes (the browser's renderer and GPU processes)
 * and keeps the peak since the last `takePeak()`. The process list is refreshed once a
 * second, since Chromium starts renderers on demand.
 */
export class RssPoller {
  private pids: number[] = [];
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;
  private refresher: NodeJS.Timeout | undefined;

  constructor(
    private readonly listPids: () => Promise<number[]>,
    private readonly intervalMs = 50,
  ) {}

  /** Starts polling; resolves false when RSS cannot be read here (not Linux), leaving the poller idle. */
  async start(): Promise<boolean> {
    this.pids = await this.listPids();
    if (!this.pids.length || this.pids.every((p) => readRss(p) === undefined)) return false;
    this.poll();
    this.timer = setInterval(() => this.poll(), this.intervalMs);
    this.refresher = setInterval(() => {
      this.listPids().then(
        (p) => void (this.pids = p),
        () => undefined,
      );
    }, 1000);
    return true;
  }

  private poll(): void {
    let sum = 0;
    for (const p of this.pids) sum += readRss(p) ?? 0;
    this.peak = Math.max(this.peak, sum);
  }

  /** The peak since the previous call (including now), then starts a new window. */
  takePeak(): number {
    this.poll();
    const p = this.peak;
    this.peak = 0;
    this.poll();
    return p;
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.refresher);
  }
}
