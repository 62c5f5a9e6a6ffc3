// The `baton publish` progress line on a TTY: bytes sent, and each entry server's acknowledged share.
import type { ProgressInfo } from '../../web-client/lib/publisher.js';

const WIDTH = 24;

/** One line (no newline) for `\r`-redrawing on stderr. */
export function progressLine(p: ProgressInfo & { total: number }, startedAtMs: number, nowMs: number): string {
  const frac = p.total > 0 ? Math.min(1, p.bytes / p.total) : 0;
  const filled = Math.round(frac * WIDTH);
  const bar = '█'.repeat(filled) + '░'.repeat(WIDTH - filled);
  const s = Math.max(0.001, (nowMs - startedAtMs) / 1000);
  const rate = (p.bytes * 8) / s / 1e6;
  const servers = p.uploads
    .map((u) => `${u.serverId}${u.role === 'primary' ? '*' : ''} ${u.state === 'failed' ? 'failed' : u.state === 'done' ? 'done' : `${pct(u.ackedBytes, p.total)} acked`}`)
    .join(' · ');
  return `${bar} ${pct(p.bytes, p.total).padStart(4)} ${mb(p.bytes)}/${mb(p.total)} MB ${rate.toFixed(1)} Mbit/s  ${servers}`;
}

function pct(n: number, total: number): string {
  return `${total > 0 ? Math.floor((100 * n) / total) : 0}%`;
}

function mb(n: number): string {
  return (n / 1e6).toFixed(1);
}
