import { MultiBar, type SingleBar } from 'cli-progress';

/** What one training step reports to the display. */
export interface StepView {
  step: number;
  total: number;
  loss: number;
  metricName: 'bitsPerDim' | 'natsPerDim';
  metric: number;
  examplesPerSecond: number;
}

/**
 * Training progress on stdout: a live bar (cli-progress) with loss, bits/dim or nats/dim,
 * images (examples) per second and ETA when stdout is a terminal; otherwise plain lines, about
 * twenty per run and at least one every 30 s, so logs stay readable. Other events (evaluations,
 * rollbacks, checkpoints) are printed as lines above the bar.
 */
export interface ProgressDisplay {
  step(v: StepView): void;
  line(text: string): void;
  stop(): void;
}

const METRIC_LABEL = { bitsPerDim: 'bits/dim', natsPerDim: 'nats/dim' } as const;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Smoothed throughput and ETA (exponential moving average of examples per second). */
class Rate {
  private ema: number | undefined;
  update(v: number): number {
    if (Number.isFinite(v) && v > 0) this.ema = this.ema === undefined ? v : 0.9 * this.ema + 0.1 * v;
    return this.ema ?? 0;
  }
}

export function progressDisplay(options: { unit: 'img' | 'ex'; batch: number; tty?: boolean; out?: NodeJS.WriteStream }): ProgressDisplay {
  const out = options.out ?? process.stdout;
  const tty = options.tty ?? Boolean(out.isTTY);
  const rate = new Rate();
  const eta = (v: StepView, r: number) => formatDuration(r > 0 ? ((v.total - v.step - 1) * options.batch) / r : NaN);
  if (!tty) {
    let lastStep = -1;
    let lastTime = 0;
    return {
      step(v) {
        const r = rate.update(v.examplesPerSecond);
        const every = Math.max(1, Math.floor(v.total / 20));
        const now = Date.now();
        const done = v.step + 1;
        if (done % every === 0 || done === v.total || lastStep < 0 || now - lastTime > 30_000) {
          out.write(
            `step ${done}/${v.total}  loss ${v.loss.toFixed(4)}  ${METRIC_LABEL[v.metricName]} ${v.metric.toFixed(4)}  ${r.toFixed(0)} ${options.unit}/s  ETA ${eta(v, r)}\n`,
          );
          [lastStep, lastTime] = [v.step, now];
        }
      },
      line: (text) => void out.write(`${text}\n`),
      stop() {},
    };
  }
  const multi = new MultiBar({
    stream: out,
    format: `train |{bar}| {value}/{total} | loss {loss} | {metricLabel} {metric} | {rate} ${options.unit}/s | ETA {etaText}`,
    barsize: 24,
    hideCursor: true,
    clearOnComplete: false,
    stopOnComplete: false,
  });
  let bar: SingleBar | undefined;
  return {
    step(v) {
      const r = rate.update(v.examplesPerSecond);
      const payload = { loss: v.loss.toFixed(4), metricLabel: METRIC_LABEL[v.metricName], metric: v.metric.toFixed(4), rate: r.toFixed(0), etaText: eta(v, r) };
      bar ??= multi.create(v.total, v.step, payload);
      bar.update(v.step + 1, payload);
    },
    line: (text) => multi.log(`${text}\n`),
    stop: () => multi.stop(),
  };
}
