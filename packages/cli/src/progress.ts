import cliProgress from 'cli-progress';

function bytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/**
 * Progress of a copy on stderr: a live bar on a terminal, a plain line every second otherwise
 * (logs and pipes), and one summary line at the end either way.
 */
export class Progress {
  readonly #total: number;
  readonly #started = Date.now();
  readonly #bar: cliProgress.SingleBar | undefined;
  #lastLine = Date.now();
  #messages = 0;
  #bytes = 0;

  constructor(total: number, tty = process.stderr.isTTY === true) {
    this.#total = total;
    if (tty) {
      this.#bar = new cliProgress.SingleBar(
        {
          format:
            'dump |{bar}| {value}/{total} messages | {size} | {rate} msg/s | ETA {eta_formatted}',
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.#bar.start(total, 0, { size: bytes(0), rate: 0 });
    }
  }

  get #rate(): number {
    return Math.round(this.#messages / Math.max((Date.now() - this.#started) / 1000, 0.001));
  }

  add(payloadBytes: number): void {
    this.#messages++;
    this.#bytes += payloadBytes;
    const now = Date.now();
    if (this.#bar) {
      // The total is read before copying and can grow meanwhile.
      if (this.#messages > this.#total) this.#bar.setTotal(this.#messages);
      this.#bar.update(this.#messages, { size: bytes(this.#bytes), rate: this.#rate });
    } else if (now - this.#lastLine >= 1000) {
      this.#lastLine = now;
      const left = Math.max(this.#total - this.#messages, 0);
      const eta = this.#rate > 0 ? `${Math.ceil(left / this.#rate)}s` : '?';
      process.stderr.write(
        `dump: ${this.#messages}/${this.#total} messages, ${bytes(this.#bytes)}, ${this.#rate} msg/s, ETA ${eta}\n`,
      );
    }
  }

  finish(summary: (messages: number, size: string) => string): void {
    this.#bar?.stop();
    process.stderr.write(`${summary(this.#messages, bytes(this.#bytes))}\n`);
  }
}
