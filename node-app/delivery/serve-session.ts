// One viewer's delivery: answers the viewer's WebRTC offer, then sends meta and paced media with backpressure.
// Its options and defaults are serve-options.ts; when it gives up on a viewer, serve-watchdog.ts; the media it sends,
// media-pump.ts.
import { EventEmitter } from 'node:events';
import type { ByteSource } from '../contracts.js';
import { createPeer, type Peer, whenSent } from '../webrtc/peer.js';
import {
  FrameErrorCode,
  decodeClientFrame,
  encodeControl,
  type ClientControl,
  type ServerControl,
} from '../../signaling/protocol/frames.js';
import { sessionPacer } from './pacer.js';
import { MediaPump } from './media-pump.js';
import { PlayRequests } from './play-requests.js';
import { FALLBACK_MIME, assetFacts, type AssetFacts } from './asset-facts.js';
import { SlowViewerWatch } from './slow-viewer.js';
import { EgressMeter } from './egress-meter.js';
import { metaFrame } from './meta-frame.js';
import { watchdogVerdict } from './serve-watchdog.js';
import { SendGate } from './send-gate.js';
import { AnswerCapture, type Answer } from './answer-capture.js';
import {
  MAX_BAD_FRAMES,
  MAX_CONTROL_BACKLOG_BYTES,
  MAX_QUEUED_BYTES,
  CONNECT_TIMEOUT_MS,
  WATCHDOG_INTERVAL_MS,
  statsFrame,
  type ServeSessionEvents,
  type ServeSessionOptions,
  type ServeState,
  type ServeStats,
} from './serve-options.js';

/** How long `end` lets its error frame leave before the peer is destroyed (ms), at least… */
const END_FLUSH_MS = 250;
/** …and at most, when media queued ahead of the frame has not left by then (a slow or stalled viewer). */
const END_FLUSH_MAX_MS = 2_000;

export class ServeSession extends EventEmitter<ServeSessionEvents> {
  readonly sessionId: string;
  readonly #o: ServeSessionOptions;
  readonly #source: ByteSource;
  /**
   * Created by the viewer's first signal (the viewer makes the offer), which
   * usually comes with the session-open (`answer()`): a join without an offer
   * costs no WebRTC peer. Native peers per client are held to the hub's caps on
   * unconnected sessions (docs/limits.md) and the server's viewer slots.
   */
  #peer: Peer | null = null;
  readonly #now: () => number;
  readonly #ready: Promise<void>;
  readonly #watchdog: ReturnType<typeof setInterval>;
  /** A timer of its own rather than the watchdog's tick: the slot is freed on time, not up to a tick late. */
  readonly #connectTimer: ReturnType<typeof setTimeout>;
  #state: ServeState = 'connecting';
  /** `end` ran: the source is closed and `close` follows; the pump's read failures say nothing more. */
  #ending = false;
  #facts: AssetFacts = { mime: FALLBACK_MIME };
  /** Control frames run one after another in arrival order, even when one has to wait (a play by time reads the index). */
  #controls: Promise<void>;
  readonly #plays: PlayRequests;
  readonly #gate: SendGate;
  readonly #media: MediaPump;
  #lastActivityAt: number;
  #bytesSent = 0;
  #badFrames = 0;
  /** While the offer of the session-open is answered: takes the answer for the open's ack instead of the relay. */
  readonly #answer = new AnswerCapture();
  readonly #slow = new SlowViewerWatch();
  readonly #egress = new EgressMeter();

  constructor(opts: ServeSessionOptions) {
    super();
    this.sessionId = opts.sessionId;
    this.#o = opts;
    this.#source = opts.source;
    this.#now = opts.now ?? (() => performance.now());
    this.#lastActivityAt = this.#now();
    const offset = Math.max(0, Math.floor(opts.offset));
    this.#plays = new PlayRequests(offset, this.#now);
    this.#gate = new SendGate(this.#now);
    this.#media = new MediaPump(opts.source, offset, this.#gate, this.#now, {
      state: () => this.#state,
      peer: () => this.#peer!,
      active: () => {
        this.#lastActivityAt = this.#now();
      },
      ended: (size) => this.#ended(size),
      sent: (bytes) => {
        this.#bytesSent += bytes;
        this.emit('sent', bytes);
      },
      failed: (err) => this.#failed(err),
    });
    // Before the first byte: the session starts sending when its channel opens, ahead of any `limit` frame.
    if (opts.limitBps !== undefined) this.#media.limit(opts.limitBps);
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

  /**
   * The viewer's offer that came with the session (the hub's session-open): resolves with this session's
   * answer when it is made within `waitMs` (the open's ack carries it, so it is not relayed), else with
   * null (it then goes through the relay like any signal).
   */
  answer(offer: unknown, waitMs: number): Promise<Answer | null> {
    return this.#answer.wait(
      waitMs,
      () => this.signal(offer),
      () => this.#state === 'closed',
    );
  }

  stats(): ServeStats {
    const s: ServeStats = {
      state: this.#state,
      bytesSent: this.#bytesSent,
      egressBps: this.#egress.bps(this.#now(), this.#bytesSent),
      queuedBytes: this.#queued(),
      maxQueuedBytes: this.#gate.maxQueued,
      offset: this.#media.offset,
    };
    const paceBps = this.#media.paceBps;
    if (paceBps !== undefined) s.paceBps = paceBps;
    return s;
  }

  /**
   * Tells the viewer why (an `error` control frame with `code`), reads nothing more, and ends the session with
   * that reason once the frame has left (`whenSent`: `END_FLUSH_MS` at least, `END_FLUSH_MAX_MS` at most): a peer
   * destroyed at once may drop the frame, and the viewer would take the end for a lost server and resume elsewhere.
   */
  end(code: string, message: string, error?: Error): void {
    if (this.#state === 'closed' || this.#ending) return;
    this.#ending = true;
    this.#sendControl({ t: 'error', code, message });
    this.#source.close();
    const peer = this.#peer;
    if (peer && !peer.destroyed) whenSent(peer, END_FLUSH_MS, END_FLUSH_MAX_MS, () => this.close(code, error));
    else setTimeout(() => this.close(code, error), END_FLUSH_MS).unref();
  }

  /** Ends the session (idempotent): stops sending, closes the peer and the source. */
  close(reason = 'closed', error?: Error): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#media.close();
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
      if (this.#answer.took(data)) return;
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
    const live = this.#source.isLive();
    // Pacing off (`pacing: false`, the operator's choice) leaves live sessions unpaced too.
    this.#media.paceBy(sessionPacer(this.#o.pacing, live, this.#facts.bitrateBps, this.#now), live && this.#o.pacing !== false);
  }

  #onConnect(): void {
    if (this.#state !== 'connecting') return;
    clearTimeout(this.#connectTimer);
    this.#lastActivityAt = this.#now();
    this.emit('connected');
    void this.#ready.then(() => {
      if (this.#state !== 'connecting') return;
      this.#state = 'streaming';
      this.#media.burst();
      this.#plays.started();
      this.#sendControl(metaFrame(this.#source, this.#facts, this.#media.offset));
      void this.#media.run();
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
    // What the viewer asks for counts as activity, and any frame while it waits for bytes (at a live edge); a `stats` or
    // `limit` frame of a paused or ended session does not (a player paused for good sends `stats` every second, and
    // held its slot while it stayed connected).
    const t = r.frame.msg.t;
    if (t === 'play' || t === 'pause' || t === 'resume' || this.#state === 'streaming') this.#lastActivityAt = this.#now();
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
          this.#media.pause();
        }
        return;
      case 'resume':
        if (this.#state === 'paused') {
          this.#state = 'streaming';
          this.#media.resume();
          this.#wakeUp();
          void this.#media.run();
        }
        return;
      case 'stop':
        return this.close('stopped');
      case 'stats':
        return this.#sendControl({ t: 'stats', ...statsFrame(this.stats()) });
      case 'limit':
        this.#media.limit(msg.bps);
        return this.#wakeUp();
    }
  }

  async #play(msg: Extract<ClientControl, { t: 'play' }>): Promise<void> {
    const index = msg.timeMs !== undefined && !this.#source.isLive() ? await this.#o.seekIndex?.() : undefined;
    if ((this.#state as ServeState) === 'closed') return;
    const plan = this.#plays.plan(msg, this.#source.size(), index);
    if (!plan.ok) return this.#sendControl({ t: 'error', code: plan.code, message: plan.message });
    const { seek, confirm } = plan;
    const fast = msg.fast;
    if (fast !== undefined && this.#o.allowFast === true) this.#media.fast = fast;
    const wasEnded = this.#state === 'ended';
    if (confirm) {
      if (this.#state === 'paused') this.#media.resume();
      if (this.#state === 'paused') this.#state = 'streaming';
    } else {
      this.#state = 'streaming';
      // A fresh burst a few times per window (restart-policy.ts).
      this.#media.seek(plan.offset, plan.burst);
    }
    // The meta sent at connect already describes the place a confirming play asks for.
    if (!confirm) this.#sendControl({ ...metaFrame(this.#source, this.#facts, this.#media.offset), ...seek });
    if (confirm && wasEnded) this.#sendControl({ t: 'end', bytes: this.#media.offset });
    this.#wakeUp();
    void this.#media.run();
  }

  // ---- media ----------------------------------------------------------------------

  /** The whole stored asset was sent (the pump's end). */
  #ended(size: number): void {
    this.#state = 'ended';
    this.#lastActivityAt = this.#now();
    this.#sendControl({ t: 'end', bytes: size });
    this.emit('end', size);
  }

  /** The pump could not read the asset or send it. */
  #failed(err: Error): void {
    if (this.#state === 'closed' || this.#ending) return;
    if ((err as { code?: unknown }).code === FrameErrorCode.assetChanged) return this.end(FrameErrorCode.assetChanged, err.message);
    if ((err as { code?: unknown }).code === FrameErrorCode.assetGone) return this.end(FrameErrorCode.assetGone, err.message);
    this.end('read-failed', 'the server could not read the asset', err);
  }

  /** Cut a pacing or live-poll sleep short (a seek, resume, or close). */
  #wakeUp(): void {
    this.#gate.wakeUp(this.#state === 'closed');
  }

  // ---- helpers ----------------------------------------------------------------------

  #sendControl(msg: ServerControl): void {
    if (this.#state === 'closed' || this.#state === 'connecting') return;
    // Media never fills the channel past MAX_QUEUED_BYTES (the send gate); only control replies to a viewer that asks
    // (stats, refused plays) and never reads could, ≈ 150 bytes each and without end: such a viewer is dropped.
    if (this.#queued() > MAX_QUEUED_BYTES + MAX_CONTROL_BACKLOG_BYTES) return this.close('stalled');
    try {
      this.#peer!.send(encodeControl(msg));
    } catch (err) {
      this.close('send-failed', err as Error);
    }
  }

  #queued(): number {
    return this.#peer?.bufferSize ?? 0;
  }

  #tick(): void {
    const now = this.#now();
    this.#egress.sample(now, this.#bytesSent);
    const verdict = watchdogVerdict(
      {
        now,
        state: this.#state,
        live: this.#source.isLive(),
        writePendingSince: this.#gate.writePendingSince,
        blockedMs: this.#gate.blockedMs,
        bytesSent: this.#bytesSent,
        bitrateBps: this.#facts.bitrateBps,
        lastActivityAt: this.#lastActivityAt,
        timeouts: this.#o.timeouts,
      },
      this.#slow,
    );
    if (!verdict) return;
    // Idle: told, so the viewer takes the close for the end of this session, not a lost server, and asks again later.
    if (verdict.close === 'idle')
      return this.end(FrameErrorCode.idle, 'the session was idle and is closed to free its slot; ask again to go on');
    this.#sendControl({ t: 'error', code: 'timeout', message: verdict.tell });
    this.close(verdict.close, verdict.close === 'too-slow' ? verdict.error : undefined);
  }
}
