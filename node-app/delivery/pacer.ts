// Send pacing for one viewer: a fast-start burst, then ≈1.5× the media bitrate up to a bounded lead.

/**
 * The burst covers this much media at the asset's bitrate: the player starts once it
 * has ~2 s buffered, and a third second absorbs the first RTTs of SCTP ramp-up.
 */
export const FAST_START_SECONDS = 3;
/**
 * ...but never less than this: a low-bitrate clip still gets its init segment and
 * several 1 s clusters in one go (1 MiB takes ~0.1 s even at 100 Mbit/s).
 */
export const MIN_BURST_BYTES = 1024 * 1024;
/** ...and never more than this, so one joiner cannot hog a server's uplink. */
export const MAX_BURST_BYTES = 8 * 1024 * 1024;
/**
 * After the burst the sender may run ahead of real time by this factor: a 2 s network
 * hiccup is made up within 4 s, while 8 viewers catching up at once still need only
 * 1.5× their steady-state share of the uplink.
 */
export const PACE_FACTOR = 1.5;
/**
 * Media the sender may hold ahead of the estimated playhead: enough to ride out a
 * failover (hub select + new ICE ≈ 0.5–2 s) several times over, small enough that a
 * viewer who leaves or seeks wastes at most ~10 s of media.
 */
export const LEAD_SECONDS = 10;
/**
 * A seek that earns no fresh burst (restart-policy.ts: a few per window) starts a run whose burst is this much media
 * instead of FAST_START_SECONDS' worth: the new position's keyframe and the frames up to the target (keyframes come
 * every 1–2 s), then the usual 1.5× catch-up up to the lead. Without it such a seek waited for the pacing of bytes
 * sent for the position it left — 2.5 s of a frozen picture on the third seek within 30 s of a 600-s asset; and
 * when the grant was charged to the old run's budget instead, ten seeks in 2 s of a 1-hour 70-kb/s asset froze the
 * picture for over 30 s: each seek's grant (one 64-KiB frame is 7 s of such media) was owed at the bitrate.
 */
export const SEEK_GRANT_SECONDS = 2;

export interface PacingConfig {
  /** Media bitrate, bits per second. */
  bitrateBps: number;
  burstBytes: number;
  /** Multiple of the bitrate the sender may use after the burst. */
  factor: number;
  /** Bytes the sender may be ahead of the playhead estimate (≥ burstBytes). */
  leadBytes: number;
}

/** The pacing for an asset of `bitrateBps`; null (unpaced) when the bitrate is unknown. */
export function pacingFor(bitrateBps: number | undefined): PacingConfig | null {
  if (!bitrateBps || !Number.isFinite(bitrateBps) || bitrateBps <= 0) return null;
  const bytesPerS = bitrateBps / 8;
  const burstBytes = clamp(Math.round(FAST_START_SECONDS * bytesPerS), MIN_BURST_BYTES, MAX_BURST_BYTES);
  const leadBytes = Math.max(burstBytes, Math.round(LEAD_SECONDS * bytesPerS));
  return { bitrateBps, burstBytes, factor: PACE_FACTOR, leadBytes };
}

/**
 * Bytes a run may have sent after `activeMs` of playing time:
 * `min(burst + factor·rate·t, lead + rate·t)` — the burst, then catch-up at
 * `factor`× until the lead is reached, then real time.
 */
export function allowedBytes(cfg: PacingConfig, activeMs: number): number {
  const t = Math.max(0, activeMs) / 1000;
  const bytesPerS = cfg.bitrateBps / 8;
  return Math.min(cfg.burstBytes + cfg.factor * bytesPerS * t, cfg.leadBytes + bytesPerS * t);
}

/** Ms of playing time until `sentBytes + wantBytes` is allowed (0: send now). */
export function waitMs(cfg: PacingConfig, activeMs: number, sentBytes: number, wantBytes: number): number {
  const need = sentBytes + wantBytes;
  if (need <= allowedBytes(cfg, activeMs)) return 0;
  const bytesPerS = cfg.bitrateBps / 8;
  // Invert each branch of the min(); the later of the two times is when both allow it.
  const tBurst = (need - cfg.burstBytes) / (cfg.factor * bytesPerS);
  const tLead = (need - cfg.leadBytes) / bytesPerS;
  return Math.max(0, Math.ceil(Math.max(tBurst, tLead) * 1000 - activeMs));
}

/**
 * A run's pacing clock: counts playing time only (a paused viewer's lead does not
 * grow), restarted by a seek.
 */
export class Pacer {
  readonly config: PacingConfig;
  readonly #now: () => number;
  #activeBeforeMs = 0;
  #resumedAt: number | null = null;
  #sent = 0;
  /** Bytes that may go at once whatever the budget (a seek's grant); one frame goes while any is left. */
  #granted = 0;
  /** The current run's burst: the config's for a start or a fresh-burst seek, SEEK_GRANT_SECONDS' for another seek. */
  #burstBytes: number;

  constructor(config: PacingConfig, now: () => number) {
    this.config = config;
    this.#now = now;
    this.#burstBytes = config.burstBytes;
  }

  /** Start a new run (first play or a seek): fresh burst, clock running. */
  restart(): void {
    this.#run(this.config.burstBytes);
  }

  /**
   * A seek without a fresh burst: a new run whose burst is SEEK_GRANT_SECONDS of media (or one frame, when a frame
   * is more), then catch-up as after any start. Bytes sent for the position the viewer left are not owed: the viewer
   * has none of them ahead of its new playhead, and the restart cap (restart-policy.ts) bounds how often a run starts.
   */
  seek(): void {
    this.#run(Math.round((SEEK_GRANT_SECONDS * this.config.bitrateBps) / 8));
    this.#granted = this.#burstBytes;
  }

  #run(burstBytes: number): void {
    this.#burstBytes = burstBytes;
    this.#activeBeforeMs = 0;
    this.#sent = 0;
    this.#granted = 0;
    this.#resumedAt = this.#now();
  }

  pause(): void {
    if (this.#resumedAt === null) return;
    this.#activeBeforeMs += this.#now() - this.#resumedAt;
    this.#resumedAt = null;
  }

  resume(): void {
    if (this.#resumedAt === null) this.#resumedAt = this.#now();
  }

  record(bytes: number): void {
    this.#sent += bytes;
    // A seek's run bursts at least one frame: at a low bitrate one 64-KiB frame is several seconds of media, more than
    // the grant, and owing its excess left the viewer without media before the next frame came.
    if (this.#granted > 0) this.#burstBytes = Math.max(this.#burstBytes, bytes);
    this.#granted = Math.max(0, this.#granted - bytes);
  }

  /** Ms until `wantBytes` more may be sent (0: now). */
  delayMs(wantBytes: number): number {
    if (this.#granted > 0) return 0;
    return waitMs({ ...this.config, burstBytes: this.#burstBytes }, this.#activeMs(), this.#sent, wantBytes);
  }

  #activeMs(): number {
    return this.#activeBeforeMs + (this.#resumedAt === null ? 0 : this.#now() - this.#resumedAt);
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/**
 * The pacer of one viewer session: none when pacing is off (`false`) or the source is live;
 * `pacing` overrides parts of the pacing computed from `bitrateBps` (bits per second).
 */
export function sessionPacer(
  pacing: false | Partial<PacingConfig> | undefined,
  live: boolean,
  bitrateBps: number | undefined,
  now: () => number,
): Pacer | null {
  const over = pacing || {};
  const base = pacing === false || live ? null : pacingFor(over.bitrateBps ?? bitrateBps);
  if (!base) return null;
  return new Pacer({ ...base, ...over, leadBytes: Math.max(over.leadBytes ?? base.leadBytes, over.burstBytes ?? base.burstBytes) }, now);
}
