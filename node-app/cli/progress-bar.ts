// The CLI's one-line progress display on a terminal (`watch`, `publish`): bar, %,
// bytes, rate and ETA, redrawn in place on stderr and erased when done.
import type { ProgressInfo } from '../../client-sdk/publisher.js';

const BAR_WIDTH = 24;
/** Redraw at most this often: a terminal cannot show more, and writes cost. */
export const REDRAW_INTERVAL_MS = 100;

export interface ProgressSample {
  bytes: number;
  /** Bytes expected in all; null while unknown (a live stream still growing). */
  total: number | null;
  elapsedMs: number;
  /** Shown after the figures (e.g. each entry server's share). */
  detail?: string;
}

/** One line, no newline: `████░░ 42% 3.1/7.4 MB 2.5 Mbit/s ETA 14s  detail`. */
export function progressLine(s: ProgressSample): string {
  const seconds = Math.max(0.001, s.elapsedMs / 1000);
  const bytesPerS = s.bytes / seconds;
  const rate = `${((bytesPerS * 8) / 1e6).toFixed(1)} Mbit/s`;
  const detail = s.detail ? `  ${s.detail}` : '';
  if (s.total === null || s.total <= 0) return `${mb(s.bytes)} MB ${rate} (live)${detail}`;
  const frac = Math.min(1, s.bytes / s.total);
  const filled = Math.round(frac * BAR_WIDTH);
  const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
  const eta = bytesPerS > 0 && s.bytes < s.total ? ` ETA ${duration((s.total - s.bytes) / bytesPerS)}` : '';
  return `${bar} ${pct(s.bytes, s.total).padStart(4)} ${mb(s.bytes)}/${mb(s.total)} MB ${rate}${eta}${detail}`;
}

/** Each entry server of a `publish`, `*` on the primary: `fra-1* 40% acked · iad-1 38% acked`. */
export function uploadsDetail(p: ProgressInfo, total: number): string {
  return p.uploads
    .map(
      (u) =>
        `${u.serverId}${u.role === 'primary' ? '*' : ''} ${u.state === 'failed' ? 'failed' : u.state === 'done' ? 'done' : `${pct(u.ackedBytes, total)} acked`}`,
    )
    .join(' · ');
}

/**
 * The progress line on a terminal stream. Lines printed through `log()` appear
 * above it; `clear()` erases it so the command's last line stands alone.
 */
export class TerminalProgress {
  readonly #out: NodeJS.WritableStream;
  readonly #now: () => number;
  readonly #startedAtMs: number;
  #drawnAtMs = -Infinity;
  #shown = false;
  #last: Omit<ProgressSample, 'elapsedMs'> | undefined;

  constructor(out: NodeJS.WritableStream, now: () => number = () => performance.now()) {
    this.#out = out;
    this.#now = now;
    this.#startedAtMs = now();
  }

  update(s: Omit<ProgressSample, 'elapsedMs'>): void {
    this.#last = s;
    const now = this.#now();
    if (now - this.#drawnAtMs < REDRAW_INTERVAL_MS) return;
    this.#drawnAtMs = now;
    this.#draw();
  }

  /** Prints `line` (and a newline) above the progress line. */
  log(line: string): void {
    this.#out.write(`${this.#shown ? '\r\x1b[K' : ''}${line}\n`);
    this.#shown = false;
    if (this.#last) this.#draw();
  }

  /** Erases the progress line (idempotent); later updates draw it again. */
  clear(): void {
    if (this.#shown) this.#out.write('\r\x1b[K');
    this.#shown = false;
  }

  #draw(): void {
    if (!this.#last) return;
    const line = progressLine({ ...this.#last, elapsedMs: this.#now() - this.#startedAtMs });
    // Within the terminal's width: a line that wraps is redrawn a row lower each time (`\r` and erase reach its last row only).
    this.#out.write(`\r${fitTo(line, (this.#out as { columns?: number }).columns)}\x1b[K`);
    this.#shown = true;
  }
}

/** `line` cut to fit `columns` (one left free, so the cursor never wraps), marked with `…` when cut. */
export function fitTo(line: string, columns: number | undefined): string {
  if (!columns || columns < 2) return line;
  const chars = [...line];
  return chars.length < columns ? line : `${chars.slice(0, columns - 2).join('')}…`;
}

function pct(n: number, total: number): string {
  return `${total > 0 ? Math.floor((100 * n) / total) : 0}%`;
}

function mb(n: number): string {
  return (n / 1e6).toFixed(1);
}

function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
