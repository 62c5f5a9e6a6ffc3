// A Viewer's bytes in order, whichever server sends them: frames and control frames read, the late joiner's seam, seeks, a start at a time, the end.
import {
  FrameErrorCode,
  decodeServerFrame,
  type ClientControl,
  type ServerControl,
  type ServerStatsFrame,
} from '../signaling/protocol/frames.js';
import { ByteCursor } from './byte-cursor.js';
import type { ViewerEventMap } from './viewer-types.js';

/** Gaps repaired by asking the server to resend before the session is declared broken. */
export const MAX_GAP_REPAIRS = 8;
/**
 * A seek by time the server refused for now (`rate-limited`: more restarts than its window allows) is asked again
 * (the owner's `retryPlay`), at most this many times; a refused play is not counted, so one is taken once the oldest
 * restart leaves the server's window (RESTART_WINDOW_MS, 10 s, at a retry a second). Past that it is given up as a
 * seek the server cannot make.
 */
export const MAX_SEEK_RETRIES = 30;

/** What the stream asks of its Viewer. */
export interface StreamOwner {
  emit<K extends keyof ViewerEventMap>(type: K, detail: ViewerEventMap[K]['detail']): void;
  /** The server closed the session as idle (`idle`): no failure; a new one is asked for when bytes are wanted again. */
  idle(message: string): void;
  /** A control frame to the current server (none without a peer). */
  send(msg: ClientControl): void;
  /** The watch cannot go on anywhere: its `error`. */
  fatal(code: string, message: string): void;
  /** The current server is no good: resume on another. */
  lost(code: string, message: string): void;
  /**
   * The current server's copy is not the one the bytes so far came from (its file changed, or it is another file):
   * resume on another holder, never on this one again for this watch; with none left, the watch ends `asset-changed`.
   */
  otherCopy(message: string): void;
  /** The init segment of a start at a time is delivered: seek to `ms` (`Viewer.seekTime`). */
  seekTime(ms: number): void;
  /** The server refused the seek by time for now: send `play()` again a little later, while a seek by time is wanted. */
  retryPlay(): void;
  /** The stream ended: the last `stats` now. */
  emitStats(): void;
  /** The server's `stats` frame, without its tag. */
  serverStats(stats: Omit<ServerStatsFrame, 't'>): void;
}

/** The position kept across servers and sessions; each server's frames checked against it. */
export class ViewerStream {
  readonly #owner: StreamOwner;
  readonly #fast: boolean;
  readonly #cursor: ByteCursor;
  #ended = false;
  #metaSeen = false;
  /** The stored copy the bytes so far came from (the first meta's `fingerprint`); null until a server tells one. */
  #fingerprint: string | null = null;
  /** The last meta said live: its stream can end shorter than what arrived (a dropped broadcast salvaged at its last whole Cluster). */
  #live = false;
  /** A live late joiner's seam (from its first server's meta): file offset = cursor offset + skip past `initBytes`. */
  #join: { initBytes: number; skip: number } | null = null;
  /** File offset minus cursor offset in the current session (non-zero when a late joiner resumed elsewhere). */
  #delta = 0;
  #gapRepairs = 0;
  /** A seek by time the server has not answered yet (ms), the byte to go back to if it cannot seek, and how often it was refused for now. */
  #timeSeek: { ms: number; from: number; retries: number } | null = null;
  #received = 0;
  /**
   * Starting at a time: the init segment (up to `initEnd`, from the first meta) is delivered first,
   * since a player needs it before any Cluster; then the stream seeks to `ms`.
   */
  #startAt: { ms: number; initEnd: number | null } | null = null;

  /** `fast`: every `play` asks for the fast start. */
  constructor(offset: number, startTimeMs: number | undefined, fast: boolean, owner: StreamOwner) {
    this.#owner = owner;
    this.#fast = fast;
    this.#cursor = new ByteCursor(offset);
    if (startTimeMs !== undefined && startTimeMs > 0) this.#startAt = { ms: startTimeMs, initEnd: null };
  }

  /** Next byte wanted. */
  get expected(): number {
    return this.#cursor.expected;
  }

  /** Bytes delivered by `data` events so far (across seeks). */
  get received(): number {
    return this.#received;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** A seek by time waits for the server's answer. */
  get seekingTime(): boolean {
    return this.#timeSeek !== null;
  }

  /**
   * The offset a watch request names, for a new session. A late joiner past its seam resumes at the file
   * offset of its next byte; other servers know nothing of its seam. One still inside the init segment joins
   * afresh (offset 0: the next server picks its own live edge, its meta a new seam): the file's bytes after
   * the init segment are the start of the broadcast, not where it joined.
   */
  watchOffset(): number {
    const rejoin = this.#join !== null && this.#cursor.expected < this.#join.initBytes;
    if (rejoin) this.#join = null;
    this.#delta = this.#join && this.#cursor.expected >= this.#join.initBytes ? this.#join.skip : 0;
    return rejoin ? 0 : this.#cursor.expected + this.#delta;
  }

  /** A new server session: its first meta is the one reported. */
  newSession(): void {
    this.#metaSeen = false;
  }

  /** Continue from byte `offset`. */
  seek(offset: number): void {
    this.#ended = false;
    this.#timeSeek = null;
    this.#cursor.seek(offset);
  }

  /** Continue from media time `ms`, once the server says where that is. */
  seekTime(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`bad time ${ms}`);
    this.#ended = false;
    // Where to go back to if the server cannot seek: the position before the first of a run of seeks.
    this.#timeSeek = { ms: Math.round(ms), from: this.#timeSeek?.from ?? this.#cursor.expected, retries: 0 };
    this.#cursor.awaitPosition();
  }

  /** The `play` that asks the server for the position wanted. */
  play(): ClientControl {
    if (this.#timeSeek) return this.#fast ? { t: 'play', timeMs: this.#timeSeek.ms, fast: true } : { t: 'play', timeMs: this.#timeSeek.ms };
    const offset = this.#cursor.expected + this.#delta;
    return this.#fast ? { t: 'play', offset, fast: true } : { t: 'play', offset };
  }

  /** A frame from the current server's data channel. */
  onFrame(data: unknown): void {
    const o = this.#owner;
    const r = decodeServerFrame(data);
    if (!r.ok) return o.emit('warning', { code: r.code, message: r.message });
    const f = r.frame;
    if (f.kind === 'control') return this.#onControl(f.msg);
    const a = this.#cursor.accept(f.offset - this.#delta, f.payload);
    if (a.kind === 'data') {
      const initEnd = this.#startAt?.initEnd ?? null;
      if (initEnd !== null && a.offset + a.bytes.byteLength >= initEnd) {
        const ms = this.#startAt!.ms;
        this.#startAt = null;
        const init = a.bytes.subarray(0, initEnd - a.offset);
        this.#received += init.byteLength;
        if (init.byteLength) o.emit('data', { offset: a.offset, bytes: init });
        this.#cursor.seek(initEnd);
        o.seekTime(ms);
        return;
      }
      this.#received += a.bytes.byteLength;
      o.emit('data', { offset: a.offset, bytes: a.bytes });
    } else if (a.kind === 'gap') {
      if (++this.#gapRepairs > MAX_GAP_REPAIRS) return o.lost('gap', `bytes ${a.expected}..${a.got} never arrived`);
      o.emit('warning', { code: 'gap', message: `expected byte ${a.expected}, got ${a.got}; asking again` });
      this.#cursor.seek(a.expected);
      o.send(this.play());
    }
  }

  #onControl(msg: ServerControl): void {
    const o = this.#owner;
    switch (msg.t) {
      case 'meta': {
        this.#live = msg.live;
        if (msg.fingerprint !== undefined) {
          // A resume on a server whose copy is another file would splice two files at the resume's byte.
          if (this.#fingerprint !== null && msg.fingerprint !== this.#fingerprint && this.#cursor.expected > 0)
            return o.otherCopy(
              `this server's copy of ${msg.assetId} is not the one the watch started on (${msg.fingerprint}, not ${this.#fingerprint}): not resumed there`,
            );
          this.#fingerprint = msg.fingerprint;
        }
        if (this.#timeSeek) {
          // A meta of an older position: its frames are dropped until the answer to this seek.
          if (msg.seekMs !== this.#timeSeek.ms) return;
          this.#timeSeek = null;
          this.#cursor.confirmAt(msg.offset - this.#delta);
          o.emit('seeked', { seekMs: msg.seekMs, timeMs: msg.timeMs ?? msg.seekMs, offset: msg.offset });
        }
        this.#cursor.confirm();
        if (msg.skipBytes && msg.joinedAt !== undefined && this.#delta === 0)
          this.#join = { initBytes: msg.joinedAt - msg.skipBytes, skip: msg.skipBytes };
        if (this.#metaSeen) return;
        this.#metaSeen = true;
        // Only a stored asset read from its start can start at a time; anything else plays from where it is.
        if (this.#startAt && !msg.live && msg.initBytes !== undefined && msg.initBytes > 0 && this.#cursor.expected <= msg.initBytes)
          this.#startAt.initEnd = msg.initBytes;
        else this.#startAt = null;
        const { t: _t, ...meta } = msg;
        return o.emit('meta', meta);
      }
      case 'end':
        // An end sent before the server saw our seek belongs to the old position.
        if (this.#cursor.seekPending || this.#ended) return;
        // More already received than the server says a stored file holds: its copy shrank or is another file (a
        // file replaced in place). Taking that as the end would report a finished watch of bytes that belong to no
        // one file. A live stream may end shorter: a dropped broadcast is salvaged at its last whole Cluster, and a
        // viewer behind its edge had the torn tail already; it ends as before.
        if (this.#cursor.expected > msg.bytes - this.#delta && !this.#live)
          return o.otherCopy(
            `the server's copy of this asset ends at ${msg.bytes - this.#delta} bytes, before the ${this.#cursor.expected} already received`,
          );
        if (this.#cursor.expected >= msg.bytes - this.#delta) {
          this.#ended = true;
          o.emitStats();
          return o.emit('end', { bytes: msg.bytes - this.#delta });
        }
        this.#cursor.seek(this.#cursor.expected);
        return o.send(this.play());
      case 'error':
        // The server's file changed under the id: its bytes from here on belong to another file. Another holder whose
        // copy is the one the watch started on (the fingerprint check at its meta) carries on from the same byte; this
        // server is not asked again. With none, the watch ends rather than mix two files.
        if (msg.code === FrameErrorCode.assetChanged) return o.otherCopy(msg.message);
        // Rewritten in place: what arrived since the rewrite may be the new file's already, so no copy continues it.
        if (msg.code === FrameErrorCode.assetRewritten) return o.fatal(msg.code, msg.message);
        // The file left that server (deleted, its storage gone): another holder's copy, if it is the same file (the
        // fingerprint check at its meta), carries on from the same byte, as after a server's death.
        if (msg.code === FrameErrorCode.assetGone) return o.lost(msg.code, msg.message);
        if (msg.code === FrameErrorCode.idle) return o.idle(msg.message);
        if (this.#timeSeek && msg.code === 'rate-limited' && this.#timeSeek.retries < MAX_SEEK_RETRIES) {
          // Too many restarts lately: the seek waits and is asked again. Going back to where the stream was would hand a
          // player, which dropped its buffer for the new position, bytes from inside a Cluster it can no longer parse.
          this.#timeSeek.retries += 1;
          o.retryPlay();
        } else if (this.#timeSeek && (msg.code === 'not-seekable' || msg.code === 'rate-limited')) {
          // The seek was refused: carry on from where the stream was.
          const from = this.#timeSeek.from;
          this.#timeSeek = null;
          this.#cursor.seek(from);
          o.send(this.play());
        }
        return o.emit('warning', { code: msg.code, message: msg.message });
      case 'stats': {
        const { t: _t, ...stats } = msg;
        o.serverStats(stats);
        return;
      }
    }
  }
}
