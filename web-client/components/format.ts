// Human-readable numbers for the pages: bytes, bitrates, durations, clock times, selection reasons.
import type { SelectReason } from '../../signaling/protocol/types.js';

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** Bytes in decimal units (1 kB = 1000 B), e.g. `12.4 MB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** Bits per second, e.g. `2.35 Mbit/s`. */
export function formatBitrate(bps: number | undefined): string {
  if (bps === undefined || !Number.isFinite(bps) || bps < 0) return '—';
  if (bps >= 1e9) return `${(bps / 1e9).toFixed(2)} Gbit/s`;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbit/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(0)} kbit/s`;
  return `${bps.toFixed(0)} bit/s`;
}

/** Megabits per second as reported by servers, e.g. `12.5 Mbit/s`. */
export function formatMbps(mbps: number): string {
  return formatBitrate(mbps * 1e6);
}

/** A media duration in milliseconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** An elapsed time in milliseconds, coarse: `45 s`, `3 min 20 s`, `2 h 5 min`. */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d`;
}

/** Wall-clock time of day for a Unix timestamp in milliseconds, `14:03:27`. */
export function formatClock(atMs: number): string {
  if (!Number.isFinite(atMs)) return '—';
  return new Date(atMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** Seconds with one decimal, e.g. `4.2 s`. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '—';
  return `${s.toFixed(1)} s`;
}

/** A load factor (0..1, more when overloaded) as a percentage. */
export function formatLoad(factor: number): string {
  if (!Number.isFinite(factor)) return '—';
  return `${Math.round(factor * 100)}%`;
}

const REASON_LABELS: Record<SelectReason, string> = {
  'director-cache': "Director's cache",
  cache: 'Cache',
  storage: 'Storage',
  live: 'Live',
};

const REASON_EXPLANATIONS: Record<SelectReason, string> = {
  'director-cache': 'the director had it in its own cache and served it',
  cache: 'another server held it in its cache; picked by load factor',
  storage: 'no cache held it; read from disk storage, starting a new cached interval',
  live: 'a live stream being ingested on this server',
};

export function reasonLabel(reason: SelectReason): string {
  return REASON_LABELS[reason] ?? reason;
}

export function reasonExplanation(reason: SelectReason): string {
  return REASON_EXPLANATIONS[reason] ?? '';
}

/** Video codecs of MSE type strings (WebM and MP4), as the `codecs` parameter names them. */
const VIDEO_CODEC = /^(vp8|vp9|vp09|av01|avc1|avc3|hev1|hvc1|theora)\b/i;

/**
 * True when `mime` names its codecs and none is a video codec (`video/webm; codecs="opus"`): a stream without a
 * picture. A type without a codecs parameter is not taken for audio only.
 */
export function isAudioOnly(mime: string): boolean {
  if (/^audio\//i.test(mime)) return true;
  if (!/codecs\s*=/i.test(mime)) return false;
  return !codecsOf(mime)
    .split(',')
    .some((c) => VIDEO_CODEC.test(c.trim()));
}

/** The codec part of an MSE type string: `video/webm; codecs="vp8, opus"` → `vp8, opus`. */
export function codecsOf(mime: string): string {
  const m = /codecs\s*=\s*"?([^";]+)"?/i.exec(mime);
  return m?.[1]?.trim() ?? mime.split(';')[0]?.trim() ?? mime;
}

/**
 * 1234567 → "1,234,567". Not `toLocaleString`: its first call loads the ICU number formats,
 * which blocked the player's main thread for ≈ 200 ms while the first frame was due.
 */
export function thousands(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
