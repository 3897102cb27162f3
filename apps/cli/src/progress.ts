import type { SingleBar } from 'cli-progress';

/** Byte progress for long operations: a bar on a terminal, a plain line every few seconds otherwise. */
export class ProgressReporter {
  private bar?: SingleBar;
  private lastLine = 0;
  private started = Date.now();
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {
    this.tty = Boolean(out.isTTY) && !quiet;
  }

  /** Updates with bytes done of total. */
  update(done: number, total: number): void {
    if (this.quiet) return;
    if (this.tty) {
      if (!this.bar) {
        // loaded only when there is a terminal to draw on: scripts and pipes do not pay for it
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
        this.bar = new SingleBar(
          {
            format: `${this.label} [{bar}] {percentage}% {doneMiB}/{totalMiB} MiB {rate} MiB/s`,
            hideCursor: true,
            stream: this.out,
            clearOnComplete: true,
          },
          Presets.shades_classic,
        );
        this.bar.start(Math.max(total, 1), 0, this.payload(done, total));
      }
      this.bar.setTotal(Math.max(total, 1));
      this.bar.update(done, this.payload(done, total));
      return;
    }
    const now = Date.now();
    if (now - this.lastLine >= 2000 && total > 0) {
      this.lastLine = now;
      this.out.write(`${this.label}: ${this.mib(done)}/${this.mib(total)} MiB (${Math.floor((done / total) * 100)}%)\n`);
    }
  }

  /** Removes the bar. */
  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  private mib(n: number): string {
    return (n / 1048576).toFixed(1);
  }

  private payload(done: number, total: number): Record<string, string> {
    const secs = Math.max((Date.now() - this.started) / 1000, 0.001);
    return { doneMiB: this.mib(done), totalMiB: this.mib(total), rate: (done / 1048576 / secs).toFixed(1) };
  }
}
