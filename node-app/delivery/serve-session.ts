// One viewer's delivery: answers the viewer's WebRTC offer, then sends meta and paced media with backpressure.
import { EventEmitter } from 'node:events';
import type { ByteSource } from '../contracts.js';
import { createPeer, type Peer, type PeerSessionOptions, type SessionLog } from '../webrtc/peer.js';
import type { SeekIndex } from '../storage/seek-index.js';
import {
  MAX_FRAME_BYTES,
  MAX_MEDIA_PAYLOAD_BYTES,
  decodeClientFrame,
  encodeControl,
  type ClientControl,
  type ServerControl,
} from '../../signaling/protocol/frames.js';
import { FrameReader } from './frame-reader.js';
import { Pacer, pacingFor, type PacingConfig } from './pacer.js';
import { UNCONNECTED_SESSION_MS } from '../slot-defaults.js';
import { MAX_RESTARTS_PER_WINDOW, RESTART_WINDOW_MS, RestartPolicy } from './restart-policy.js';
import { FALLBACK_MIME, assetFacts, type AssetFacts } from './asset-facts.js';
import { SlowViewerWatch } from './slow-viewer.js';
import { playTarget } from './play-target.js';

export { FALLBACK_MIME } from './asset-facts.js';
export { SLOW_BLOCKED_SHARE, SLOW_FRACTION } from './slow-viewer.js';

/** A session whose channel is not open by then is closed, freeing its slot (see `UNCONNECTED_SESSION_MS`). */
export const CONNECT_TIMEOUT_MS = UNCONNECTED_SESSION_MS;
/** A write the channel has not accepted for this long means the viewer stopped reading. */
export const STALL_TIMEOUT_MS = 15_000;
/**
 * A viewer that keeps the sender waiting yet receives under SLOW_FRACTION of the media
 * bitrate for this long cannot play the stream; it is told and dropped (it may fail over).
 */
export const SLOW_VIEWER_MS = 20_000;
/** Paused, ended, or waiting on a live stream that does not grow: closed after this long. */
export const IDLE_TIMEOUT_MS = 120_000;
/** How often a caught-up live session looks for new bytes (ByteSource has no growth event). */
export const LIVE_POLL_MS = 100;
/** Timeouts and the egress figure are checked this often. */
export const WATCHDOG_INTERVAL_MS = 1_000;
/** Malformed control frames tolerated (each answered with an error frame) before closing. */
export const MAX_BAD_FRAMES = 16;
/**
 * simple-peer stops calling back writes once the channel's bufferedAmount passes 64 KiB,
 * and the session has one write outstanding at a time, so a viewer never has more than
 * this many bytes queued on the server (plus the SCTP stack's own fixed send buffer).
 */
export const MAX_QUEUED_BYTES = 64 * 1024 + MAX_FRAME_BYTES;

export type ServeState = 'connecting' | 'streaming' | 'paused' | 'ended' | 'closed';

export interface ServeSessionEvents {
  /** The data channel opened. */
  connected: [];
  /** Media bytes handed to the channel (payload only). */
  sent: [bytes: number];
  /** Every byte up to `bytes` was sent and the asset is not live. */
  end: [bytes: number];
  /** Once, whatever ended the session. */
  closed: [reason: string, error?: Error];
}

export type { SessionLog };

export interface ServeSessionOptions extends PeerSessionOptions {
  source: ByteSource;
  /** Byte offset to start at (the hub's `session-open` offset). */
  offset: number;
  /**
   * Catalog facts (pass the store's AssetInfo). Without a MIME type, MIME and bitrate are
   * probed from the asset's first block; without a bitrate the session is not paced.
   */
  asset?: Partial<AssetFacts>;
  /**
   * The asset's keyframe Clusters with their times, for a `play` by time (stored assets). Without
   * it, or for a live source, such a play is answered `not-seekable`.
   */
  seekIndex?: () => Promise<SeekIndex | undefined>;
  /** `false` never paces; an object overrides parts of the computed pacing. Default: paced. */
  pacing?: false | Partial<PacingConfig>;
  /**
   * Whether a viewer that asks for `fast` gets unpaced delivery: an operator's choice
   * (`baton server --allow-fast`, for benchmarks and trusted tools). Default false: every
   * viewer is paced, and may catch up only at the pacer's 1.5×.
   */
  allowFast?: boolean;
  /** Defaults: CONNECT_TIMEOUT_MS, STALL_TIMEOUT_MS, IDLE_TIMEOUT_MS, SLOW_VIEWER_MS. */
  timeouts?: { connectMs?: number; stallMs?: number; idleMs?: number; slowMs?: number };
}

export interface ServeStats {
  state: ServeState;
  bytesSent: number;
  /** Over the last few seconds, bits per second. */
  egressBps: number;
  queuedBytes: number;
  /** Largest queue seen since the session started. */
  maxQueuedBytes: number;
  /** Next byte to send. */
  offset: number;
  paceBps?: number;
}

export class ServeSession extends EventEmitter<ServeSessionEvents> {
  readonly sessionId: string;
  readonly #o: ServeSessionOptions;
  readonly #source: ByteSource;
  /**
   * Created by the viewer's first signal (the viewer makes the offer): a join
   * whose viewer never connects, or leaves at once, costs no WebRTC peer, and a
   * flood of `watch` requests cannot make the server allocate native peers.
   */
  #peer: Peer | null = null;
  readonly #now: () => number;
  readonly #ready: Promise<void>;
  readonly #watchdog: ReturnType<typeof setInterval>;
  /** A timer of its own rather than the watchdog's tick: the slot is freed on time, not up to a tick late. */
  readonly #connectTimer: ReturnType<typeof setTimeout>;
  #state: ServeState = 'connecting';
  #facts: AssetFacts = { mime: FALLBACK_MIME };
  /** Control frames run one after another in arrival order, even when one has to wait (a play by time reads the index). */
  #controls: Promise<void>;
  #pacer: Pacer | null = null;
  #fast = false;
  readonly #restarts = new RestartPolicy();
  #sessionOffset: number;
  #playSeen = false;
  /** Next byte to send. */
  #next: number;
  readonly #reader: FrameReader;
  /** Bumped by every seek and by close: in-flight reads of an older generation are dropped. */
  #generation = 0;
  #pumping = false;
  #wake: (() => void) | null = null;
  #writePendingSince: number | null = null;
  #lastActivityAt: number;
  #lastSize = 0;
  #bytesSent = 0;
  #maxQueued = 0;
  #badFrames = 0;
  /** Ms spent with a write waiting on the viewer, completed writes only. */
  #blockedMs = 0;
  readonly #slow = new SlowViewerWatch();
  #egressSamples: Array<[atMs: number, bytes: number]> = [];

  constructor(opts: ServeSessionOptions) {
    super();
    this.sessionId = opts.sessionId;
    this.#o = opts;
    this.#source = opts.source;
    this.#now = opts.now ?? (() => performance.now());
    this.#lastActivityAt = this.#now();
    this.#sessionOffset = this.#next = Math.max(0, Math.floor(opts.offset));
    this.#reader = new FrameReader(opts.source, this.#next);
    this.#ready = this.#describe();
    this.#controls = this.#ready;
    this.#watchdog = setInterval(() => this.#tick(), WATCHDOG_INTERVAL_MS);
    this.#watchdog.unref?.();
    this.#connectTimer = setTimeout(() => this.close('connect-timeout'), opts.timeouts?.connectMs ?? CONNECT_TIMEOUT_MS);
    this.#connectTimer.unref?.();
  }

  get state(): ServeState {
    return this.#state;
  }

  /** Feed a signal relayed from the viewer. Bad input closes this session, never throws. */
  signal(data: unknown): void {
    if (this.#state === 'closed') return;
    try {
      (this.#peer ?? this.#createPeer()).signal(data as Parameters<Peer['signal']>[0]);
    } catch (err) {
      this.close('bad-signal', err as Error);
    }
  }

  stats(): ServeStats {
    const s: ServeStats = {
      state: this.#state,
      bytesSent: this.#bytesSent,
      egressBps: this.#egressBps(),
      queuedBytes: this.#queued(),
      maxQueuedBytes: this.#maxQueued,
      offset: this.#next,
    };
    if (this.#pacer && !this.#fast) s.paceBps = this.#pacer.config.bitrateBps * this.#pacer.config.factor;
    return s;
  }

  /** Ends the session (idempotent): stops sending, closes the peer and the source. */
  close(reason = 'closed', error?: Error): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#generation++;
    clearInterval(this.#watchdog);
    clearTimeout(this.#connectTimer);
    this.#wakeUp();
    this.#o.log?.[error ? 'warn' : 'debug']({ reason, err: error?.message, bytesSent: this.#bytesSent }, 'session closed');
    this.#peer?.destroy();
    this.#source.close();
    this.emit('closed', reason, error);
    this.removeAllListeners();
  }

  // ---- setup -------------------------------------------------------------------

  #createPeer(): Peer {
    const opts = this.#o;
    const peer = createPeer({ initiator: false, wrtc: opts.wrtc, config: { iceServers: opts.iceServers } });
    this.#peer = peer;
    peer.on('signal', (data: unknown) => {
      try {
        opts.signal(data);
      } catch (err) {
        this.close('signal-failed', err as Error);
      }
    });
    peer.on('connect', () => this.#onConnect());
    peer.on('data', (data: unknown) => this.#onData(data));
    peer.on('close', () => this.close('peer-closed'));
    peer.on('error', (err: Error) => this.close('peer-error', err));
    return peer;
  }

  async #describe(): Promise<void> {
    this.#facts = await assetFacts(this.#source, this.#o.asset ?? {}, this.#o.log);
    const over = this.#o.pacing || {};
    const base = this.#o.pacing === false || this.#source.isLive() ? null : pacingFor(over.bitrateBps ?? this.#facts.bitrateBps);
    if (base) {
      this.#pacer = new Pacer(
        { ...base, ...over, leadBytes: Math.max(over.leadBytes ?? base.leadBytes, over.burstBytes ?? base.burstBytes) },
        this.#now,
      );
    }
  }

  #onConnect(): void {
    if (this.#state !== 'connecting') return;
    clearTimeout(this.#connectTimer);
    this.#lastActivityAt = this.#now();
    this.emit('connected');
    void this.#ready.then(() => {
      if (this.#state !== 'connecting') return;
      this.#state = 'streaming';
      this.#pacer?.restart();
      this.#restarts.started(this.#now());
      this.#sendControl(this.#meta());
      void this.#pump();
    });
  }

  // ---- control frames ------------------------------------------------------------

  #onData(data: unknown): void {
    if (this.#state === 'closed') return;
    const r = decodeClientFrame(data);
    if (!r.ok) {
      const tooMany = ++this.#badFrames > MAX_BAD_FRAMES;
      // Answered in arrival order once the session streams (frames can beat the meta).
      this.#inOrder(() => {
        this.#sendControl({ t: 'error', code: r.code, message: r.message });
        if (tooMany) this.close('bad-frames');
      });
      return;
    }
    this.#lastActivityAt = this.#now();
    // After #ready, in arrival order: a play may land before the asset was described.
    this.#inOrder(() => this.#onControl(r.frame.msg));
  }

  #inOrder(fn: () => void | Promise<void>): void {
    this.#controls = this.#controls.then(fn).catch((err: Error) => this.close('control-failed', err));
  }

  #onControl(msg: ClientControl): void | Promise<void> {
    if (this.#state === 'closed' || this.#state === 'connecting') return;
    switch (msg.t) {
      case 'play':
        return this.#play(msg);
      case 'pause':
        if (this.#state === 'streaming') {
          this.#state = 'paused';
          this.#pacer?.pause();
        }
        return;
      case 'resume':
        if (this.#state === 'paused') {
          this.#state = 'streaming';
          this.#pacer?.resume();
          this.#wakeUp();
          void this.#pump();
        }
        return;
      case 'stop':
        return this.close('stopped');
      case 'stats':
        return this.#sendControl({ t: 'stats', ...this.#statsFrame() });
    }
  }

  async #play(msg: Extract<ClientControl, { t: 'play' }>): Promise<void> {
    const index = msg.timeMs !== undefined && !this.#source.isLive() ? await this.#o.seekIndex?.() : undefined;
    if ((this.#state as ServeState) === 'closed') return;
    const target = playTarget(msg, this.#sessionOffset, this.#source.size(), index);
    if (!target.ok) {
      this.#sendControl({ t: 'error', code: target.code, message: target.message });
      return;
    }
    const { offset, seek } = target;
    const fast = msg.fast;
    // The viewer's first play normally starts where the session was opened (no offset, or the same one).
    const confirm = !this.#playSeen && offset === this.#sessionOffset && !seek;
    const verdict = confirm ? 'burst' : this.#restarts.restart(this.#now());
    if (verdict === 'refused') {
      this.#sendControl({
        t: 'error',
        code: 'rate-limited',
        message: `more than ${MAX_RESTARTS_PER_WINDOW} restarts in ${RESTART_WINDOW_MS / 1000} s: play refused`,
      });
      return;
    }
    if (fast !== undefined && this.#o.allowFast === true) this.#fast = fast;
    this.#playSeen = true;
    const wasEnded = this.#state === 'ended';
    if (confirm) {
      if (this.#state === 'paused') this.#pacer?.resume();
      if (this.#state === 'paused') this.#state = 'streaming';
    } else {
      this.#generation++;
      this.#next = offset;
      this.#reader.seek(offset);
      this.#state = 'streaming';
      // A fresh burst a few times per window; otherwise the session's pacing budget carries over.
      if (verdict === 'burst') this.#pacer?.restart();
      else this.#pacer?.resume();
    }
    this.#sendControl(seek ? { ...this.#meta(), ...seek } : this.#meta());
    if (confirm && wasEnded) this.#sendControl({ t: 'end', bytes: this.#next });
    this.#wakeUp();
    void this.#pump();
  }

  // ---- media ----------------------------------------------------------------------

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#state === 'streaming') {
        const gen = this.#generation;
        const size = this.#source.size();
        if (size !== this.#lastSize) {
          this.#lastSize = size;
          this.#lastActivityAt = this.#now();
        }
        if (this.#next >= size) {
          if (this.#source.isLive()) {
            await this.#sleep(LIVE_POLL_MS);
            continue;
          }
          this.#state = 'ended';
          this.#lastActivityAt = this.#now();
          this.#sendControl({ t: 'end', bytes: size });
          this.emit('end', size);
          break;
        }
        const delay = this.#fast || !this.#pacer ? 0 : this.#pacer.delayMs(Math.min(MAX_MEDIA_PAYLOAD_BYTES, size - this.#next));
        if (delay > 0) {
          await this.#sleep(delay);
          continue;
        }
        const out = await this.#reader.next(size);
        if (gen !== this.#generation) continue;
        if (!out) {
          // The source shrank under us (a replaced file): wait rather than spin.
          await this.#sleep(LIVE_POLL_MS);
          continue;
        }
        this.#next = this.#reader.offset;
        await this.#write(out.frame);
        // close() may have run while the write was pending.
        if ((this.#state as ServeState) === 'closed') break;
        if (gen === this.#generation) this.#pacer?.record(out.bytes);
        this.#bytesSent += out.bytes;
        this.emit('sent', out.bytes);
      }
    } catch (err) {
      if (this.#state !== 'closed') {
        this.#sendControl({ t: 'error', code: 'read-failed', message: 'the server could not read the asset' });
        this.close('read-failed', err as Error);
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** One write outstanding at a time; resolves when simple-peer accepts more (backpressure). */
  #write(frame: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#writePendingSince = this.#now();
      this.#wake = resolve;
      this.#peer!.write(frame, (err?: Error | null) => {
        if (this.#writePendingSince !== null) this.#blockedMs += this.#now() - this.#writePendingSince;
        this.#writePendingSince = null;
        this.#wake = null;
        this.#lastActivityAt = this.#now();
        if (err) reject(err);
        else resolve();
      });
      const q = this.#queued();
      if (q > this.#maxQueued) this.#maxQueued = q;
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Cut a pacing or live-poll sleep short (a seek, resume, or close). */
  #wakeUp(): void {
    const wake = this.#wake;
    // A pending write is only cut short by close(): one write outstanding is the backpressure.
    if (!wake || (this.#writePendingSince !== null && this.#state !== 'closed')) return;
    this.#wake = null;
    wake();
  }

  // ---- helpers ----------------------------------------------------------------------

  #sendControl(msg: ServerControl): void {
    if (this.#state === 'closed' || this.#state === 'connecting') return;
    try {
      this.#peer!.send(encodeControl(msg));
    } catch (err) {
      this.close('send-failed', err as Error);
    }
  }

  #meta(): ServerControl {
    const meta: ServerControl = {
      t: 'meta',
      assetId: this.#source.assetId,
      mime: this.#facts.mime,
      bytes: this.#source.size(),
      live: this.#source.isLive(),
      offset: this.#next,
    };
    if (this.#facts.bitrateBps !== undefined) meta.bitrateBps = Math.round(this.#facts.bitrateBps);
    if (this.#facts.durationMs !== undefined && !this.#source.isLive()) meta.durationMs = this.#facts.durationMs;
    if (this.#facts.initBytes !== undefined && !this.#source.isLive()) meta.initBytes = this.#facts.initBytes;
    const { joinedAt, skipBytes, startedAtMs } = this.#source;
    if (skipBytes && joinedAt !== undefined) Object.assign(meta, { joinedAt, skipBytes });
    if (startedAtMs !== undefined && this.#source.isLive()) meta.startedAtMs = Math.round(startedAtMs);
    return meta;
  }

  #statsFrame(): Omit<Extract<ServerControl, { t: 'stats' }>, 't'> {
    const s = this.stats();
    const out: Omit<Extract<ServerControl, { t: 'stats' }>, 't'> = {
      bytesSent: s.bytesSent,
      egressBps: Math.round(s.egressBps),
      queuedBytes: s.queuedBytes,
      offset: s.offset,
    };
    if (s.paceBps !== undefined) out.paceBps = Math.round(s.paceBps);
    return out;
  }

  #queued(): number {
    return this.#peer?.bufferSize ?? 0;
  }

  #egressBps(): number {
    const first = this.#egressSamples[0];
    if (!first) return 0;
    const dt = this.#now() - first[0];
    return dt > 0 ? ((this.#bytesSent - first[1]) * 8 * 1000) / dt : 0;
  }

  #tick(): void {
    const now = this.#now();
    this.#egressSamples.push([now, this.#bytesSent]);
    if (this.#egressSamples.length > 4) this.#egressSamples.shift();
    const t = this.#o.timeouts ?? {};
    if (this.#writePendingSince !== null && now - this.#writePendingSince > (t.stallMs ?? STALL_TIMEOUT_MS)) {
      this.#sendControl({ t: 'error', code: 'timeout', message: 'the viewer stopped reading' });
      return this.close('stalled');
    }
    const blockedMs = this.#blockedMs + (this.#writePendingSince === null ? 0 : now - this.#writePendingSince);
    const slowMs = this.#slow.slowFor({
      now,
      bytesSent: this.#bytesSent,
      blockedMs,
      streaming: this.#state === 'streaming',
      bitrateBps: this.#facts.bitrateBps,
    });
    if (slowMs > (t.slowMs ?? SLOW_VIEWER_MS)) {
      const message = 'the viewer receives slower than the media plays';
      this.#sendControl({ t: 'error', code: 'timeout', message });
      return this.close('too-slow', new Error(message));
    }
    const idle = this.#state === 'paused' || this.#state === 'ended' || (this.#state === 'streaming' && this.#source.isLive());
    if (idle && this.#writePendingSince === null && now - this.#lastActivityAt > (t.idleMs ?? IDLE_TIMEOUT_MS)) {
      this.close('idle');
    }
  }
}
