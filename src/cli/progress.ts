// Training progress on stderr: a live bar redrawn in place on a terminal, otherwise a plain line
// every few seconds (logs and pipes get no control characters).

import { formatDuration, formatRate } from '../engine/format';

export interface ProgressStats {
  step: number;
  total: number;
  loss: number;
  tokensPerSecond: number;
}

export class ProgressReporter {
  private lastDraw = 0;
  private readonly started = Date.now();
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly interactive = Boolean(stream.isTTY),
    private readonly plainEveryMs = 5000,
  ) {}

  update(stats: ProgressStats, force = false): void {
    const now = Date.now();
    const every = this.interactive ? 100 : this.plainEveryMs;
    if (!force && now - this.lastDraw < every) return;
    this.lastDraw = now;
    if (this.interactive) {
      const width = Math.max(10, Math.min(30, (this.stream.columns ?? 80) - 60));
      const filled = Math.round((width * stats.step) / stats.total);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      this.stream.write(`\r\x1b[2K${bar} ${this.describe(stats, now)}`);
      this.drawn = true;
    } else {
      this.stream.write(`${this.describe(stats, now)}\n`);
    }
  }

  /** Ends the live line so that what follows starts on its own line. */
  finish(): void {
    if (this.interactive && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }

  private describe(s: ProgressStats, now: number): string {
    const elapsed = (now - this.started) / 1000;
    const perStep = s.step > 0 ? elapsed / s.step : 0;
    const eta = perStep * (s.total - s.step);
    return `step ${s.step}/${s.total}  loss ${s.loss.toFixed(4)}  ${formatRate(s.tokensPerSecond)} tokens/s  ${formatDuration(elapsed)} elapsed, ${formatDuration(eta)} left`;
  }
}
