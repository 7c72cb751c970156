/**
 * A terminal progress bar for training loops and benchmarks:
 *
 *   train   45% [##########..............] 450/1000 12.3s 36.6 it/s ETA 15.0s  D 0.693 G 1.20
 *
 * On a TTY the line is redrawn in place, at most every `minIntervalMs` (default 100 ms, ~10x/s), so a fast
 * loop does not spend its time printing. Elsewhere (CI logs, files) it prints a plain line each time
 * another `logEveryPercent` of the work is done. The writer, the clock and the TTY flag can be injected,
 * which is how the tests drive it.
 */

export type ProgressFields = Record<string, string | number> | string;

export interface ProgressOptions {
  label: string;
  /** Number of items; Infinity for open-ended work (no percentage or ETA then). */
  total: number;
  /** Where text goes; default process.stderr. */
  write?: (text: string) => void;
  /** Redraw in place (true) or print plain lines (false); default: whether stderr is a terminal. */
  isTTY?: boolean;
  /** Clock in milliseconds; default performance.now. */
  now?: () => number;
  /** Terminal width used to truncate the line; default the terminal's, else 100. */
  columns?: number;
  minIntervalMs?: number;
  /** Non-TTY: print a line each time this percentage more is done (default 10). Open-ended work prints
   *  every `logIntervalMs` instead. */
  logEveryPercent?: number;
  logIntervalMs?: number;
  barWidth?: number;
  /** Item name in the rate, e.g. "img" gives "36.6 img/s". Default "it". */
  unit?: string;
  /** Items already done when the bar starts (a resumed run): shown as done, left out of the rate. */
  initial?: number;
}

/** "12.3s", "4m05s", "2h03m" (59.96 s is "1m00s": rounded before the unit is chosen). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 59.95) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Three significant digits for numbers (0.693, 1.20, 12.3, 1234), exponent form for tiny/huge ones. */
export function formatFieldValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e6 || magnitude < 1e-3) return value.toExponential(2);
  if (magnitude >= 1000) return value.toFixed(0);
  return value.toPrecision(3);
}

function formatRate(rate: number, unit: string): string {
  if (!Number.isFinite(rate) || rate <= 0) return `- ${unit}/s`;
  const digits = rate >= 100 ? 0 : rate >= 10 ? 1 : 2;
  return `${rate.toFixed(digits)} ${unit}/s`;
}

/** How far back the rate looks, so early warm-up (shader compilation, first batch) stops skewing the ETA. */
const RATE_WINDOW_MS = 10_000;

export class ProgressBar {
  readonly label: string;
  readonly total: number;
  private readonly write: (text: string) => void;
  private readonly isTTY: boolean;
  private readonly now: () => number;
  private readonly columns: number;
  private readonly minIntervalMs: number;
  private readonly logEveryPercent: number;
  private readonly logIntervalMs: number;
  private readonly barWidth: number;
  private readonly unit: string;
  private readonly startedAt: number;
  private current = 0;
  private fields: ProgressFields = '';
  private lastDrawAt = -Infinity;
  private nextLogPercent: number;
  private samples: { at: number; count: number }[] = [];
  private finished = false;

  constructor(options: ProgressOptions) {
    if (!(options.total > 0))
      throw new Error(`ProgressBar "${options.label}": total must be positive, got ${options.total}`);
    this.label = options.label;
    this.total = options.total;
    this.write = options.write ?? ((text) => process.stderr.write(text));
    // Under scripts/run-quiet.mjs standard error is a pipe to a terminal: the wrapper says so in the environment.
    this.isTTY = options.isTTY ?? (Boolean(process.stderr.isTTY) || process.env.WGPU_GAN_STDERR_TTY === '1');
    this.now = options.now ?? (() => performance.now());
    this.columns = options.columns ?? (process.stderr.columns || Number(process.env.WGPU_GAN_STDERR_COLUMNS) || 100);
    this.minIntervalMs = options.minIntervalMs ?? 100;
    this.logEveryPercent = options.logEveryPercent ?? 10;
    this.logIntervalMs = options.logIntervalMs ?? 10_000;
    this.barWidth = options.barWidth ?? 24;
    this.unit = options.unit ?? 'it';
    this.startedAt = this.now();
    this.nextLogPercent = this.logEveryPercent;
    this.current = options.initial ?? 0;
    this.samples.push({ at: this.startedAt, count: this.current });
  }

  /** Advances by `count` items. */
  tick(count = 1, fields?: ProgressFields): void {
    this.update(this.current + count, fields);
  }

  /** Sets the number of items done (and optionally the free-form fields shown at the end of the line). */
  update(current: number, fields?: ProgressFields): void {
    if (this.finished) return;
    this.current = current;
    if (fields !== undefined) this.fields = fields;
    const at = this.now();
    this.samples.push({ at, count: current });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= RATE_WINDOW_MS) this.samples.shift();

    if (this.isTTY) {
      if (at - this.lastDrawAt >= this.minIntervalMs || current >= this.total) this.drawInPlace(at);
      return;
    }
    if (Number.isFinite(this.total)) {
      const percent = (100 * current) / this.total;
      if (percent >= this.nextLogPercent && current < this.total) {
        while (this.nextLogPercent <= percent) this.nextLogPercent += this.logEveryPercent;
        this.write(this.render(at) + '\n');
        this.lastDrawAt = at;
      }
    } else if (at - this.lastDrawAt >= this.logIntervalMs) {
      this.write(this.render(at) + '\n');
      this.lastDrawAt = at;
    }
  }

  /** Prints a line of its own (an evaluation, a warning) above the bar, which is then redrawn on a terminal. */
  note(text: string): void {
    if (this.isTTY && !this.finished) {
      this.write(`\r\x1b[K${text}\n`);
      this.drawInPlace(this.now());
    } else {
      this.write(`${text}\n`);
    }
  }

  /** Draws the final state and ends the line. Further updates are ignored. */
  finish(fields?: ProgressFields): void {
    if (this.finished) return;
    if (fields !== undefined) this.fields = fields;
    const at = this.now();
    if (this.isTTY) {
      this.drawInPlace(at);
      this.write('\n');
    } else {
      this.write(this.render(at) + '\n');
    }
    this.finished = true;
  }

  /** Items per second over the recent window. */
  rate(at = this.now()): number {
    const oldest = this.samples[0]!;
    const seconds = (at - oldest.at) / 1000;
    return seconds > 0 ? (this.current - oldest.count) / seconds : NaN;
  }

  /** The status line as text (without carriage return or newline). */
  render(at = this.now()): string {
    const elapsed = (at - this.startedAt) / 1000;
    const rate = this.rate(at);
    const parts: string[] = [this.label];
    if (Number.isFinite(this.total)) {
      const fraction = Math.min(1, Math.max(0, this.current / this.total));
      const filled = Math.round(fraction * this.barWidth);
      parts.push(`${(fraction * 100).toFixed(0).padStart(3)}%`);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(this.barWidth - filled)}]`);
      parts.push(`${this.current}/${this.total}`);
    } else {
      parts.push(`${this.current}`);
    }
    parts.push(formatDuration(elapsed), formatRate(rate, this.unit));
    if (Number.isFinite(this.total)) {
      const remaining = Math.max(0, this.total - this.current);
      parts.push(`ETA ${remaining === 0 ? formatDuration(0) : rate > 0 ? formatDuration(remaining / rate) : '?'}`);
    }
    const fields =
      typeof this.fields === 'string'
        ? this.fields
        : Object.entries(this.fields)
            .map(([k, v]) => `${k} ${typeof v === 'number' ? formatFieldValue(v) : v}`)
            .join(' ');
    return parts.join(' ') + (fields ? `  ${fields}` : '');
  }

  private drawInPlace(at: number): void {
    const line = this.render(at).slice(0, Math.max(10, this.columns - 1));
    this.write(`\r${line}\x1b[K`);
    this.lastDrawAt = at;
  }
}
