// One broadcaster upload to this server: answers the publisher's WebRTC offer, stores chunks in order, acks what is durable.
import { EventEmitter } from 'node:events';
import { createPeer, destroyWhenSent, type Peer, type PeerSessionOptions } from '../webrtc/peer.js';
import {
  IngestErrorCode,
  decodeIngestClientFrame,
  encodeIngestControl,
  type IngestClientControl,
  type IngestLimits,
  type IngestServerControl,
} from '../../signaling/protocol/ingest-frames.js';
import { IngestError } from './errors.js';
import { BASE_CHUNKS_PER_S, BYTES_PER_EXTRA_CHUNK, ChunkFloodMeter } from './chunk-flood.js';
import type { LiveWriter } from './live-writer.js';

/** A publisher whose channel is not open by then is dropped. */
export const INGEST_CONNECT_TIMEOUT_MS = 20_000;
/** No frame for this long (MediaRecorder sends several per second) ends the session. */
export const INGEST_IDLE_TIMEOUT_MS = 30_000;
/** After `done`, the publisher has this long to close the channel itself. */
export const DONE_LINGER_MS = 5_000;
export const MAX_BAD_FRAMES = 16;
/**
 * A session ended by an error keeps its peer until the publisher, told, closes it — at most this long (a publisher
 * that reads nothing holds a peer no longer). Before, the peer went 100 ms after the error frame had left the channel's
 * buffer, which is not after it arrived: on a loaded machine (load 17) a publisher saw the close before the frame and
 * reported `peer-closed` instead of `disk-full`.
 */
const CLOSE_FLUSH_MAX_MS = 1_000;
const WATCHDOG_MS = 1_000;

export type IngestSessionState = 'connecting' | 'waiting-hello' | 'receiving' | 'ending' | 'done' | 'closed';

/** What the ingest manager gives a session for a `hello`: the stream's writer, or why not. */
export type Attach = (
  hello: Extract<IngestClientControl, { t: 'hello' }>,
  session: IngestSession,
) => Promise<{ writer: LiveWriter; limits: IngestLimits } | IngestError>;

export interface IngestSessionEvents {
  connected: [];
  /** Attached to the stream's writer (after hello). */
  attached: [writer: LiveWriter];
  done: [bytes: number, sha256: string];
  /** Chunk bytes newly appended to the stream (not duplicates). */
  received: [bytes: number];
  /** Once, whatever ended the session. */
  closed: [reason: string, error?: Error];
}

export interface IngestSessionOptions extends PeerSessionOptions {
  /** The stream this session was opened for (the hub's `session-open` assetId). */
  streamId: string;
  attach: Attach;
  timeouts?: { connectMs?: number; idleMs?: number };
}

export class IngestSession extends EventEmitter<IngestSessionEvents> {
  readonly sessionId: string;
  readonly streamId: string;
  readonly #o: IngestSessionOptions;
  readonly #peer: Peer;
  readonly #now: () => number;
  readonly #createdAt: number;
  readonly #watchdog: ReturnType<typeof setInterval>;
  #state: IngestSessionState = 'connecting';
  #writer: LiveWriter | undefined;
  #lastActivityAt: number;
  #doneAt = 0;
  #badFrames = 0;
  #bytesReceived = 0;
  readonly #flood = new ChunkFloodMeter();
  /** Control messages are handled one after another (hello and end are async). */
  #control: Promise<void> = Promise.resolve();

  constructor(opts: IngestSessionOptions) {
    super();
    this.sessionId = opts.sessionId;
    this.streamId = opts.streamId;
    this.#o = opts;
    this.#now = opts.now ?? (() => performance.now());
    this.#createdAt = this.#lastActivityAt = this.#now();
    this.#peer = createPeer({ initiator: false, wrtc: opts.wrtc, config: { iceServers: opts.iceServers } });
    this.#peer.on('signal', (data: unknown) => {
      try {
        opts.signal(data);
      } catch (err) {
        this.close('signal-failed', err as Error);
      }
    });
    this.#peer.on('connect', () => {
      if (this.#state !== 'connecting') return;
      this.#state = 'waiting-hello';
      this.#lastActivityAt = this.#now();
      this.emit('connected');
    });
    this.#peer.on('data', (data: unknown) => this.#onData(data));
    this.#peer.on('close', () => this.close(this.#state === 'done' ? 'done' : 'peer-closed'));
    this.#peer.on('error', (err: Error) => this.close('peer-error', err));
    this.#watchdog = setInterval(() => this.#tick(), WATCHDOG_MS);
    this.#watchdog.unref?.();
  }

  get state(): IngestSessionState {
    return this.#state;
  }

  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** Feed a signal relayed from the publisher. Bad input closes this session, never throws. */
  signal(data: unknown): void {
    if (this.#state === 'closed') return;
    try {
      this.#peer.signal(data as Parameters<Peer['signal']>[0]);
    } catch (err) {
      this.close('bad-signal', err as Error);
    }
  }

  /** Tell the publisher why, then close (used for fatal errors and shutdown). */
  fail(error: IngestError): void {
    if (this.#state === 'closed') return;
    this.#send({ t: 'error', code: error.code, message: error.message, fatal: true });
    this.close(error.code, error);
  }

  /** Ends the session (idempotent). The writer is left to the ingest manager. */
  close(reason = 'closed', error?: Error): void {
    if (this.#state === 'closed') return;
    const wasDone = this.#state === 'done';
    this.#state = 'closed';
    clearInterval(this.#watchdog);
    this.#detach();
    this.#o.log?.[error && !wasDone ? 'warn' : 'debug'](
      { reason, err: error?.message, bytes: this.#bytesReceived },
      'ingest session closed',
    );
    // Let a last control message (an error or done) reach the publisher before the channel goes: after an error, until
    // the publisher closes (it does when told), or CLOSE_FLUSH_MAX_MS.
    destroyWhenSent(this.#peer, error ? CLOSE_FLUSH_MAX_MS : 0, CLOSE_FLUSH_MAX_MS);
    this.emit('closed', reason, error);
    this.removeAllListeners();
  }

  // ---- frames ------------------------------------------------------------------

  #onData(data: unknown): void {
    if (this.#state === 'closed') return;
    this.#lastActivityAt = this.#now();
    const r = decodeIngestClientFrame(data);
    if (!r.ok) return this.#bad(r.code, r.message);
    const f = r.frame;
    if (f.kind === 'control') {
      const msg = f.msg;
      this.#control = this.#control.then(() => this.#onControl(msg)).catch((err: unknown) => this.close('internal', err as Error));
      return;
    }
    if (this.#flood.record(f.payload.byteLength, this.#now())) {
      return this.fail(
        new IngestError(
          IngestErrorCode.tooManyChunks,
          `more than ${BASE_CHUNKS_PER_S} chunks a second (plus one per ${BYTES_PER_EXTRA_CHUNK} bytes): send larger chunks`,
        ),
      );
    }
    if (this.#state !== 'receiving' || !this.#writer) {
      // Chunks that race a hello are refused rather than queued: the publisher resends after `ready`.
      if (this.#state === 'waiting-hello') return this.#bad(IngestErrorCode.badRequest, 'send hello before any chunk');
      return;
    }
    const a = this.#writer.append(f.seq, f.offset, f.payload);
    switch (a.kind) {
      case 'stored':
        this.#bytesReceived += f.payload.byteLength;
        this.emit('received', f.payload.byteLength);
        return;
      case 'duplicate':
        // Already stored: acknowledge again if durable; the next fsync acknowledges it otherwise.
        if (a.durable) this.#send({ t: 'ack', seq: this.#writer.durableSeq, bytes: this.#writer.durableBytes });
        return;
      case 'gap':
        return this.#send({ t: 'nack', expected: a.expected });
      case 'refused':
        if (a.fatal) return this.fail(a.error);
        return this.#bad(a.error.code, a.error.message);
    }
  }

  async #onControl(msg: IngestClientControl): Promise<void> {
    if (this.#state === 'closed') return;
    if (msg.t === 'hello') {
      if (this.#state !== 'waiting-hello') return this.#bad(IngestErrorCode.badRequest, 'hello was already sent');
      if (msg.streamId !== this.streamId)
        return this.fail(new IngestError(IngestErrorCode.badRequest, `this session is for stream ${this.streamId}, not ${msg.streamId}`));
      const r = await this.#o.attach(msg, this);
      if ((this.#state as IngestSessionState) === 'closed') return;
      if (r instanceof IngestError) return this.fail(r);
      this.#writer = r.writer;
      this.#state = 'receiving';
      r.writer.on('durable', this.#onDurable);
      r.writer.on('failed', this.#onWriterFailed);
      this.#send({ t: 'ready', nextSeq: r.writer.nextSeq, bytes: r.writer.bytes, limits: r.limits });
      if (r.writer.durableSeq >= 0) this.#send({ t: 'ack', seq: r.writer.durableSeq, bytes: r.writer.durableBytes });
      this.emit('attached', r.writer);
      return;
    }
    // end
    if (this.#state !== 'receiving' || !this.#writer) return this.#bad(IngestErrorCode.badRequest, 'end before hello');
    this.#state = 'ending';
    try {
      const info = await this.#writer.end(msg.bytes, msg.sha256);
      if ((this.#state as IngestSessionState) === 'closed') return;
      this.#state = 'done';
      this.#doneAt = this.#now();
      this.#send({ t: 'ack', seq: this.#writer.durableSeq, bytes: this.#writer.durableBytes });
      this.#send({ t: 'done', bytes: info.bytes, sha256: info.sha256 });
      this.emit('done', info.bytes, info.sha256);
    } catch (err) {
      const e = err instanceof IngestError ? err : new IngestError(IngestErrorCode.writeFailed, (err as Error).message);
      if (this.#writer.state === 'open') {
        // The writer is fine (e.g. `end` came too early): the publisher may fix it and end again.
        this.#state = 'receiving';
        this.#send({ t: 'error', code: e.code, message: e.message, fatal: false });
      } else this.fail(e);
    }
  }

  readonly #onDurable = (seq: number, bytes: number): void => {
    if (this.#state === 'receiving' || this.#state === 'ending') this.#send({ t: 'ack', seq, bytes });
  };

  readonly #onWriterFailed = (error: IngestError): void => {
    this.fail(error);
  };

  #detach(): void {
    this.#writer?.off('durable', this.#onDurable);
    this.#writer?.off('failed', this.#onWriterFailed);
  }

  #bad(code: string, message: string): void {
    this.#badFrames++;
    this.#send({ t: 'error', code, message, fatal: false });
    if (this.#badFrames > MAX_BAD_FRAMES) this.close('bad-frames');
  }

  #send(msg: IngestServerControl): void {
    if (this.#state === 'connecting') return;
    try {
      this.#peer.send(encodeIngestControl(msg));
    } catch (err) {
      if (this.#state !== 'closed') this.close('send-failed', err as Error);
    }
  }

  #tick(): void {
    const now = this.#now();
    const t = this.#o.timeouts ?? {};
    if (this.#state === 'connecting' && now - this.#createdAt > (t.connectMs ?? INGEST_CONNECT_TIMEOUT_MS))
      return this.close('connect-timeout');
    if (this.#state === 'done' && now - this.#doneAt > DONE_LINGER_MS) return this.close('done');
    if (this.#state !== 'done' && this.#state !== 'ending' && now - this.#lastActivityAt > (t.idleMs ?? INGEST_IDLE_TIMEOUT_MS)) {
      this.fail(new IngestError(IngestErrorCode.timeout, 'no data from the publisher'));
    }
  }
}
