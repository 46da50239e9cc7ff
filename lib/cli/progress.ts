/** A one-line progress bar for long work (redrawn in place on a TTY, a line every few seconds otherwise). */
export class ProgressBar {
  private last = 0;
  private readonly tty: boolean;
  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = !!stream.isTTY;
  }

  update(done: number, total: number, info = ''): void {
    const now = Date.now();
    if (done < total && now - this.last < (this.tty ? 100 : 5000)) return;
    this.last = now;
    const width = 28;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(frac * width);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    const line = `${this.label} [${bar}] ${done}/${total} ${info}`;
    if (this.tty) this.stream.write(`\r${line}\x1b[K${done >= total ? '\n' : ''}`);
    else this.stream.write(line + '\n');
  }
}

/** A training step on the progress bar: loss, learning rate, throughput (`unit`s per second) and time left. */
export const stepInfo = (p: { loss: number; lr: number; samplesPerSecond: number; etaSeconds: number }, unit = 'samples'): string =>
  `loss ${p.loss.toExponential(3)} lr ${p.lr.toExponential(2)} ${p.samplesPerSecond.toFixed(1)} ${unit}/s eta ${formatSeconds(p.etaSeconds)}`;

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`;
}
