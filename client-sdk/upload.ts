// One upload of a publish (a WebRTC session to one entry server) as the Publisher tracks it.
import { encodeIngestControl, type IngestClientControl, type IngestLimits } from '../signaling/protocol/ingest-frames.js';
import type { PublisherPeer, UploadInfo } from './publisher-types.js';

export interface Upload extends UploadInfo {
  peer: PublisherPeer;
  connectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Next sequence number to put on the channel. */
  next: number;
  pumping: boolean;
  /** Resolves a pending write early (the upload failed). */
  cancelWrite: (() => void) | null;
  endSent: boolean;
  released: boolean;
  limits?: IngestLimits;
  sha256?: string;
  /** When the server last sent a frame (ms, `Date.now()`). */
  heardAt: number;
  /**
   * When the hub said the server left its table (ms): the upload goes on while the server answers on the
   * data channel, but the hub no longer watches the session, so the Publisher watches it for silence.
   */
  hubGoneAt?: number;
  silenceTimer?: ReturnType<typeof setInterval>;
  /** Placed as a replacement (a new copy), not by the first `publish` (which, continuing a copy, names its holders). */
  replacement?: true;
}

/** A fresh upload for `choice`, connecting over `peer`. */
export function newUpload(
  choice: { serverId: string; region: string; sessionId: string },
  role: 'primary' | 'backup',
  peer: PublisherPeer,
): Upload {
  return {
    serverId: choice.serverId,
    region: choice.region,
    role,
    sessionId: choice.sessionId,
    state: 'connecting',
    sentBytes: 0,
    ackedBytes: 0,
    ackedSeq: -1,
    peer,
    connectTimer: undefined,
    next: 0,
    pumping: false,
    cancelWrite: null,
    endSent: false,
    released: false,
    heardAt: Date.now(),
  };
}

export function info(u: Upload): UploadInfo {
  const out: UploadInfo = {
    serverId: u.serverId,
    region: u.region,
    role: u.role,
    sessionId: u.sessionId,
    state: u.state,
    sentBytes: u.sentBytes,
    ackedBytes: u.ackedBytes,
    ackedSeq: u.ackedSeq,
  };
  if (u.error) out.error = { ...u.error };
  return out;
}

export function describeFailures(uploads: UploadInfo[]): string {
  return uploads.map((u) => `${u.serverId}: ${u.error ? `${u.error.code} (${u.error.message})` : u.state}`).join('; ') || 'no server';
}

/** Bounds of an upload's silence: UPLOAD_SILENT_MS, and END_SILENT_MS once the stream has ended (`ended()`). */
export interface SilenceBounds {
  silentMs: number;
  endSilentMs: number;
  checkMs: number;
  /** end() was called: nothing more is pushed. */
  ended: () => boolean;
}

/**
 * How long an upload may stay silent: `silentMs`, or, once the stream has ended or the upload sent `end`, at most
 * `endSilentMs`; one still connecting keeps `silentMs` (and its connect timeout): a connection may take seconds.
 */
export function silenceBound(u: Upload, b: Omit<SilenceBounds, 'checkMs'>): number {
  const ended = u.state === 'ending' || (b.ended() && u.state !== 'connecting');
  return ended ? Math.min(b.silentMs, b.endSilentMs) : b.silentMs;
}

/**
 * The upload waits on its server (not ready yet, chunks sent and not acknowledged, or `end` sent and not
 * answered) and has heard nothing from it for `ms` since `since` or its last frame, whichever is later.
 * An upload that owes nothing is never overdue: a quiet server with nothing to acknowledge is not a dead one.
 */
export function overdue(u: Upload, since: number, now: number, ms: number): boolean {
  const waiting = u.state === 'connecting' || u.state === 'ending' || (u.state === 'streaming' && u.next - 1 > u.ackedSeq);
  return waiting && now - Math.max(since, u.heardAt) >= ms;
}

/**
 * Watches an upload for silence: every `checkMs`, calls `onSilent` with the bound it broke once it is overdue (see
 * `overdue`) by `silenceBound(u, bounds)` since `since`. The watch stays until the upload is released; an upload has
 * one at most (a second is not started: the first, from an earlier `since`, fails it no later).
 */
export function watchSilence(u: Upload, since: number, bounds: SilenceBounds, onSilent: (ms: number) => void): void {
  if (u.silenceTimer !== undefined) return;
  u.silenceTimer = setInterval(() => {
    const ms = silenceBound(u, bounds);
    if (overdue(u, since, Date.now(), ms)) onSilent(ms);
  }, bounds.checkMs);
  (u.silenceTimer as { unref?: () => void }).unref?.();
}

/** Stops the upload's timers, its pending write and its peer; false when it was released already. */
export function releaseUpload(u: Upload): boolean {
  if (u.released) return false;
  u.released = true;
  clearTimeout(u.connectTimer);
  clearInterval(u.silenceTimer);
  u.cancelWrite?.();
  u.cancelWrite = null;
  try {
    u.peer.destroy();
  } catch {
    // Already destroyed.
  }
  return true;
}

/** How an upload's channel failed: the Publisher's one failure path for it. */
export type UploadFailure = (code: 'write-failed' | 'send-failed', message: string) => void;

/** Writes one frame, resolving once the channel takes more (backpressure), or early when the upload fails. */
export function writeFrame(u: Upload, frame: Uint8Array, fail: UploadFailure): Promise<void> {
  return new Promise<void>((resolve) => {
    u.cancelWrite = resolve;
    try {
      u.peer.write(frame, (err) => {
        u.cancelWrite = null;
        if (err && u.state !== 'failed') fail('write-failed', err.message);
        resolve();
      });
    } catch (err) {
      u.cancelWrite = null;
      fail('write-failed', (err as Error).message);
      resolve();
    }
  });
}

/** Sends one control message on the upload's channel. */
export function sendControl(u: Upload, fail: UploadFailure, msg: IngestClientControl): void {
  try {
    u.peer.send(encodeIngestControl(msg));
  } catch (err) {
    fail('send-failed', (err as Error).message);
  }
}

/** The strictest quota among the uploads still alive (for pacing a file upload). */
export function strictestLimits(uploads: Iterable<Upload>): IngestLimits | undefined {
  let out: IngestLimits | undefined;
  for (const u of uploads) {
    if (!u.limits || u.state === 'failed') continue;
    out = !out
      ? { ...u.limits }
      : {
          maxBitrateBps: Math.min(out.maxBitrateBps, u.limits.maxBitrateBps),
          burstBytes: Math.min(out.burstBytes, u.limits.burstBytes),
          maxBytes: Math.min(out.maxBytes, u.limits.maxBytes),
          ...(out.clusterBytes !== undefined || u.limits.clusterBytes !== undefined
            ? { clusterBytes: Math.max(out.clusterBytes ?? 0, u.limits.clusterBytes ?? 0) }
            : {}),
        };
  }
  return out;
}

/** A publish's uploads by session id, and the servers that failed it (never asked for again). */
export class UploadSet {
  readonly #uploads = new Map<string, Upload>();
  readonly #dead = new Set<string>();

  add(u: Upload): void {
    this.#uploads.set(u.sessionId, u);
  }

  get(sessionId: string): Upload | undefined {
    return this.#uploads.get(sessionId);
  }

  has(sessionId: string): boolean {
    return this.#uploads.has(sessionId);
  }

  all(): Upload[] {
    return [...this.#uploads.values()];
  }

  /** Every upload not failed (done ones included). */
  alive(): Upload[] {
    return this.all().filter((u) => u.state !== 'failed');
  }

  markDead(serverId: string): void {
    this.#dead.add(serverId);
  }

  /** Servers that failed this stream, oldest first. */
  dead(): string[] {
    return [...this.#dead];
  }

  /** An upload to `serverId` is alive (a copy of ours is on it, or on its way). */
  holds(serverId: string): boolean {
    return this.alive().some((u) => u.serverId === serverId);
  }

  /** Servers that finalized the stream: they hold it already, and take no second copy. */
  stored(): string[] {
    return this.all()
      .filter((u) => u.state === 'done')
      .map((u) => u.serverId);
  }

  /** Alive uploads whose server is still in the hub's table: the copies a replacement is counted against. */
  placed(): Upload[] {
    return this.alive().filter((u) => u.hubGoneAt === undefined);
  }

  /** The role a single replacement takes: whichever of primary and backup is missing among the placed uploads. */
  missingRole(): 'primary' | 'backup' {
    return this.placed().some((u) => u.role === 'primary') ? 'backup' : 'primary';
  }

  /** Still moving bytes or finalizing. */
  busy(): boolean {
    return this.all().some((u) => u.state === 'connecting' || u.state === 'streaming' || u.state === 'ending');
  }

  /** The live upload furthest behind (for dropping when the buffer overflows). */
  slowest(): Upload | undefined {
    const live = this.alive().filter((u) => u.state !== 'done');
    return live.length ? live.reduce((a, b) => (b.ackedSeq < a.ackedSeq ? b : a)) : undefined;
  }

  /**
   * The highest chunk every live upload acknowledged (`nextSeq` when none is live):
   * frames up to it may leave the resend buffer; an upload still connecting may need everything (-1).
   */
  ackedFloor(nextSeq: number): number {
    let floor = nextSeq;
    for (const u of this.#uploads.values()) {
      if (u.state === 'failed' || u.state === 'done') continue;
      floor = Math.min(floor, u.state === 'connecting' ? -1 : u.ackedSeq);
    }
    return floor;
  }
}
