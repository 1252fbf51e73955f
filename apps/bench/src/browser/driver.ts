import { existsSync } from 'node:fs';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import type { Availability } from '../engines.js';
import type { EngineJob, HostEvent } from '../host.js';
import type { PageEnvironment } from '../results.js';
import { BROWSER_RSS_KIND, RssPoller } from './rss.js';
import type { BenchServer } from './server.js';

/** Chromium flags: headless, no network side traffic, WebGPU on (Linux ships it behind a flag). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'];

export const CHROMIUM_INSTALL = 'apt-get install chromium (Debian/Ubuntu), or pass --chromium <path> / set CHROMIUM_PATH';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

/** The Chromium to drive: `explicit`, `$CHROMIUM_PATH`, then the usual install paths; undefined when none exists. */
export function findChromium(explicit?: string): string | undefined {
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  const tries = [process.env.CHROMIUM_PATH, ...CANDIDATES].filter((p): p is string => !!p);
  return tries.find((p) => existsSync(p));
}

interface BenchWindow {
  bijectiveBench: {
    environment(): Promise<PageEnvironment>;
    probe(engine: string): Promise<Availability>;
    run(job: EngineJob): Promise<void>;
  };
}

/**
 * One headless Chromium with the bench page open. Each engine gets its own browser (fresh
 * renderer and GPU processes), so its memory and GPU state are its own.
 */
export class ChromiumPage {
  private constructor(
    private readonly browser: Browser,
    private readonly page: Page,
    private readonly cdp: CDPSession,
    readonly executable: string,
    private readonly errors: string[],
  ) {}

  /** Launches Chromium and opens the bench page. */
  static async open(executable: string, server: BenchServer): Promise<ChromiumPage> {
    // Signals are the bench's to handle (Ctrl-C writes the report of what was measured):
    // playwright's own handlers would close the browser and exit the process first.
    const browser = await chromium.launch({ executablePath: executable, args: CHROMIUM_ARGS, headless: true, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      // BENCH_DEBUG=1 shows the page's console (engine warnings).
      if (process.env.BENCH_DEBUG) page.on('console', (m) => console.error(`[page ${m.type()}] ${m.text()}`));
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => 'bijectiveBench' in window, undefined, { timeout: 30_000 }).catch(() => {
        throw new Error(`the bench page did not start${errors.length ? `: ${errors.join('; ')}` : ''}`);
      });
      const cdp = await browser.newBrowserCDPSession();
      return new ChromiumPage(browser, page, cdp, executable, errors);
    } catch (e) {
      await browser.close();
      throw e;
    }
  }

  get version(): string {
    return this.browser.version();
  }

  environment(): Promise<PageEnvironment> {
    return this.page.evaluate(() => (window as unknown as BenchWindow).bijectiveBench.environment());
  }

  /** Whether `engine` runs in this page (its backend's own check). */
  probe(engine: string): Promise<Availability> {
    return this.page.evaluate((e) => (window as unknown as BenchWindow).bijectiveBench.probe(e), engine);
  }

  /** Renderer and GPU process ids of this browser. */
  private async pids(): Promise<number[]> {
    const info = (await this.cdp.send('SystemInfo.getProcessInfo')) as { processInfo: { type: string; id: number }[] };
    return info.processInfo.filter((p) => p.type === 'renderer' || p.type === 'GPU').map((p) => p.id);
  }

  /**
   * Runs one engine's job, streaming events with each measurement's memory replaced by the
   * renderer + GPU processes' peak RSS where /proc is readable (else the page's JS-heap
   * probe stays). Rejects on a page crash or when `signal` aborts (the caller then closes
   * the browser). Returns what the memory column measured.
   */
  async run(job: EngineJob, onEvent: (e: HostEvent) => void | Promise<void>, signal: AbortSignal): Promise<{ memoryKind?: string }> {
    const poller = new RssPoller(() => this.pids());
    const polling = await poller.start().catch(() => false);
    const forward = (e: HostEvent) =>
      onEvent(e.type === 'measurement' && e.timing && polling ? { ...e, memory: { peakBytes: poller.takePeak(), kind: BROWSER_RSS_KIND } } : e);
    await this.page.exposeFunction('benchEmit', forward);
    let onAbort: (() => void) | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
      const crashed = new Promise<never>((_, reject) => this.page.once('crash', () => reject(new Error('the page crashed'))));
      await Promise.race([this.page.evaluate((j) => (window as unknown as BenchWindow).bijectiveBench.run(j), job), timeout, crashed]);
      return polling ? { memoryKind: BROWSER_RSS_KIND } : {};
    } catch (e) {
      if (signal.aborted || !this.errors.length) throw e;
      throw new Error(`${e instanceof Error ? e.message : String(e)} (uncaught in the page: ${this.errors.slice(-3).join('; ')})`);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
      poller.stop();
    }
  }

  /** Page errors seen so far (uncaught exceptions). */
  get pageErrors(): readonly string[] {
    return this.errors;
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
  }
}
