// Publishes one live stream through the hub to a primary and a backup entry server, with resends and failover. Node and browser.
import {
  MAX_CHUNK_PAYLOAD_BYTES,
  decodeIngestServerFrame,
  encodeChunk,
  encodeIngestControl,
  type IngestClientControl,
  type IngestLimits,
  type IngestServerControl,
} from '../signaling/protocol/ingest-frames.js';
import type { PublishReply, PublishRequest } from '../signaling/protocol/messages.js';
import type { Ack } from '../signaling/protocol/types.js';

/**
 * Default resend buffer. Frames stay in it until every upload acknowledged them
 * and the buffer is over this size, so a *replacement* server (which needs the
 * stream from chunk 0) can be filled as long as the stream so far fits: 64 MiB
 * is about 9 minutes at 1 Mbit/s, 3.5 minutes at 2.5 Mbit/s (camera HD).
 * Longer streams keep their last 64 MiB; a replacement that would need older
 * chunks is refused (`cannot-resume`) and the stream goes on with one copy.
 */
export const RESEND_BUFFER_BYTES = 64 * 1024 * 1024;
/** Unacknowledged bytes past the buffer size at which the slowest upload is dropped (push() never waits). */
export const OVERFLOW_FACTOR = 1.5;
/** No answer to `publish` within this long counts as a timeout. */
export const PUBLISH_ACK_TIMEOUT_MS = 10_000;
/** An upload that is not connected and `ready` by then has failed. */
export const UPLOAD_CONNECT_TIMEOUT_MS = 15_000;
/** Replacement servers asked for over one stream's life. */
export const MAX_REPLACEMENTS = 6;
export const REPLACE_RETRY_BASE_MS = 500;
/** After the last chunk, servers have this long to finalize. */
export const END_TIMEOUT_MS = 60_000;
/**
 * A session the hub closed fails this much later: the server's reason (an error
 * frame on the data channel) races the hub's notice, and is the better message.
 */
export const HUB_CLOSE_GRACE_MS = 250;
/** `progress` at most this often. */
export const PROGRESS_INTERVAL_MS = 250;
/** Failures of the stream itself (its quotas): another server would refuse it the same way, so none is asked for. */
const STREAM_ERRORS: ReadonlySet<string> = new Set(['too-large', 'rate-limited']);

/** The part of a socket.io-client Socket (on the hub's `/client` namespace) a Publisher uses. */
export interface PublisherSocket {
  emit(event: 'publish', req: PublishRequest, ack: (r: Ack<PublishReply>) => void): unknown;
  emit(event: 'signal', msg: { sessionId: string; data: unknown }): unknown;
  emit(event: 'leave', msg: { sessionId: string }): unknown;
  on(event: 'signal' | 'session-close', listener: (msg: any) => void): unknown;
  off(event: 'signal' | 'session-close', listener: (msg: any) => void): unknown;
}

/** The part of a simple-peer instance a Publisher uses. */
export interface PublisherPeer {
  on(event: 'signal' | 'data', listener: (data: any) => void): unknown;
  on(event: 'connect' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  signal(data: any): void;
  send(data: string): void;
  /** Stream write: the callback runs once the channel can take more (backpressure). */
  write(chunk: Uint8Array, cb: (err?: Error | null) => void): unknown;
  destroy(): void;
}

export type PublisherPeerConstructor = new (opts: {
  initiator: boolean;
  wrtc?: any;
  config?: { iceServers?: RTCIceServer[] };
  objectMode?: boolean;
  trickle?: boolean;
}) => PublisherPeer;

/** An incremental SHA-256 (Node: `() => createHash('sha256')`); browsers have none built in. */
export type HashFactory = () => { update(b: Uint8Array): unknown; digest(encoding: 'hex'): string };

export interface PublisherOptions {
  /** A connected socket.io-client Socket on the hub's `/client` namespace. */
  socket: PublisherSocket;
  SimplePeer: PublisherPeerConstructor;
  /** WebRTC implementation for Node (node-datachannel's polyfill); browsers use their own. */
  wrtc?: unknown;
  streamKey: string;
  /** Where the broadcaster is: a place name or coordinates. */
  location: PublishRequest['location'];
  /** Desired stream id; the hub picks one when absent. */
  streamId?: string;
  /** MSE type of the stream, e.g. `video/webm; codecs="vp8, opus"`. */
  mime: string;
  iceServers?: RTCIceServer[];
  /** Resend buffer size, bytes. Default RESEND_BUFFER_BYTES. */
  resendBufferBytes?: number;
  /** With a hash, `end` carries the stream's sha256 and servers verify it. */
  hash?: HashFactory;
  /**
   * Continue a copy a server already holds (a resumed WHIP broadcast): the first chunk
   * pushed gets this sequence number and byte offset. No hash then: it would cover only the new bytes.
   */
  startAt?: { seq: number; bytes: number };
}

export type UploadState = 'connecting' | 'streaming' | 'ending' | 'done' | 'failed';

export interface UploadInfo {
  serverId: string;
  region: string;
  role: 'primary' | 'backup';
  sessionId: string;
  state: UploadState;
  /** Bytes put on this channel (headers and resends included). */
  sentBytes: number;
  /** Stream bytes the server has durably stored. */
  ackedBytes: number;
  ackedSeq: number;
  /** Why it failed, when it did. */
  error?: { code: string; message: string };
}

export interface ProgressInfo {
  /** Stream bytes pushed so far. */
  bytes: number;
  /** Bytes put on every channel together. */
  wireBytes: number;
  bufferedBytes: number;
  uploads: UploadInfo[];
}

export interface FailoverInfo {
  from: string;
  to: string;
  role: 'primary' | 'backup';
}

export interface PublishResult {
  streamId: string;
  bytes: number;
  sha256?: string;
  /** Servers that finalized the stream (byte-identical copies). */
  stored: string[];
  failovers: FailoverInfo[];
}

/**
 * @fires assigned - CustomEvent<PublishReply>: the hub chose entry servers (again for a replacement).
 * @fires progress - CustomEvent<ProgressInfo>: at most every PROGRESS_INTERVAL_MS while sending.
 * @fires health - CustomEvent<UploadInfo>: an upload changed state.
 * @fires failover - CustomEvent<FailoverInfo>: a failed upload was replaced.
 * @fires end - CustomEvent<PublishResult>: every remaining upload finalized the stream.
 * @fires warning - CustomEvent<{ code, message }>: something went wrong and was handled (a replacement refused, a bad frame).
 * @fires error - CustomEvent<{ code, message }>: fatal; the publisher closes right after.
 */
export interface PublisherEventMap {
  assigned: CustomEvent<PublishReply>;
  progress: CustomEvent<ProgressInfo>;
  health: CustomEvent<UploadInfo>;
  failover: CustomEvent<FailoverInfo>;
  end: CustomEvent<PublishResult>;
  warning: CustomEvent<{ code: string; message: string }>;
  error: CustomEvent<{ code: string; message: string }>;
}

export class PublishError extends Error {
  override readonly name = 'PublishError';
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

interface Frame {
  seq: number;
  offset: number;
  /** Stream bytes in it (the encoded frame adds a header). */
  size: number;
  encoded: Uint8Array;
}

interface Upload extends UploadInfo {
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
}

type Reply = Ack<PublishReply>;

export class Publisher extends EventTarget {
  readonly #o: PublisherOptions;
  readonly #capacity: number;
  readonly #hash: ReturnType<HashFactory> | undefined;
  readonly #uploads = new Map<string, Upload>();
  readonly #dead = new Set<string>();
  readonly #failovers: FailoverInfo[] = [];
  #frames: Frame[] = [];
  #bufferedBytes = 0;
  #nextSeq = 0;
  #bytes = 0;
  #wireBytes = 0;
  #streamId: string | undefined;
  /** Proof of ownership of the stream id, from the hub's first reply; sent with every later publish. */
  #streamSecret: string | undefined;
  #started = false;
  #closed = false;
  #ending = false;
  #replacing = false;
  #replacements = 0;
  #roomWaiters: Array<() => void> = [];
  #endWaiter: { resolve: (r: PublishResult) => void; reject: (e: PublishError) => void } | null = null;
  #endTimer: ReturnType<typeof setTimeout> | undefined;
  #progressAt = 0;
  #progressTimer: ReturnType<typeof setTimeout> | undefined;
  #sha256: string | undefined;
  #blobs: Promise<void> = Promise.resolve();

  constructor(opts: PublisherOptions) {
    super();
    this.#o = opts;
    this.#capacity = opts.resendBufferBytes ?? RESEND_BUFFER_BYTES;
    this.#hash = opts.startAt ? undefined : opts.hash?.();
    this.#nextSeq = opts.startAt?.seq ?? 0;
    this.#bytes = opts.startAt?.bytes ?? 0;
    if (opts.streamId) this.#streamId = opts.streamId;
  }

  override addEventListener<K extends keyof PublisherEventMap>(type: K, listener: (ev: PublisherEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener, options);
  }

  override removeEventListener<K extends keyof PublisherEventMap>(type: K, listener: (ev: PublisherEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void {
    super.removeEventListener(type, listener, options);
  }

  get streamId(): string | undefined {
    return this.#streamId;
  }

  /** Stream bytes pushed so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes put on all channels (headers and resends included): the upload's real cost. */
  get wireBytes(): number {
    return this.#wireBytes;
  }

  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** The strictest quota among the servers taking the stream (for pacing a file upload). */
  get limits(): IngestLimits | undefined {
    let out: IngestLimits | undefined;
    for (const u of this.#uploads.values()) {
      if (!u.limits || u.state === 'failed') continue;
      out = !out
        ? { ...u.limits }
        : { maxBitrateBps: Math.min(out.maxBitrateBps, u.limits.maxBitrateBps), burstBytes: Math.min(out.burstBytes, u.limits.burstBytes), maxBytes: Math.min(out.maxBytes, u.limits.maxBytes) };
    }
    return out;
  }

  uploads(): UploadInfo[] {
    return [...this.#uploads.values()].map(info);
  }

  /**
   * Ask the hub for entry servers and connect to them. Resolves with the
   * assignment once at least one server is ready for chunks; rejects with a
   * PublishError (`unauthorized`, `unknown-place`, `no-ingest`, …) otherwise.
   */
  async start(): Promise<PublishReply> {
    if (this.#started) throw new PublishError('bad-request', 'start() was already called');
    this.#started = true;
    this.#o.socket.on('signal', this.#onHubSignal);
    this.#o.socket.on('session-close', this.#onHubSessionClose);
    const r = await this.#publishOnce([]);
    if (!r.ok) {
      const e = new PublishError(r.code, r.message);
      this.#fatal(e.code, e.message);
      throw e;
    }
    const { ok: _ok, ...reply } = r;
    this.#streamId = reply.streamId;
    if (typeof reply.streamSecret === 'string') this.#streamSecret = reply.streamSecret;
    this.#emit('assigned', reply);
    this.#connect(reply.primary, 'primary');
    if (reply.backup) this.#connect(reply.backup, 'backup');
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        const all = [...this.#uploads.values()];
        if (all.some((u) => u.state === 'streaming')) return done(null);
        if (this.#closed || all.every((u) => u.state === 'failed')) return done(new PublishError('no-ingest', describeFailures(all)));
      };
      const done = (err: PublishError | null) => {
        this.removeEventListener('health', check);
        this.removeEventListener('error', onError);
        err ? reject(err) : resolve();
      };
      const onError = (e: PublisherEventMap['error']) => done(new PublishError(e.detail.code, e.detail.message));
      this.addEventListener('health', check);
      this.addEventListener('error', onError);
      check();
    });
    return reply;
  }

  /**
   * Add media bytes (e.g. a MediaRecorder chunk) to the stream. Never waits: if the
   * uploads fall far behind, the slowest is dropped (and replaced) so memory stays
   * bounded. Use `write` to wait for room instead.
   */
  push(chunk: Uint8Array): void {
    if (this.#closed || this.#ending) throw new PublishError('bad-request', this.#closed ? 'the publisher is closed' : 'end() was called');
    for (let at = 0; at < chunk.byteLength; at += MAX_CHUNK_PAYLOAD_BYTES) {
      const payload = chunk.subarray(at, Math.min(chunk.byteLength, at + MAX_CHUNK_PAYLOAD_BYTES));
      const frame: Frame = { seq: this.#nextSeq, offset: this.#bytes, size: payload.byteLength, encoded: encodeChunk(this.#nextSeq, this.#bytes, payload) };
      this.#frames.push(frame);
      this.#nextSeq++;
      this.#bytes += payload.byteLength;
      this.#bufferedBytes += payload.byteLength;
    }
    this.#hash?.update(chunk);
    this.#trim();
    if (this.#bufferedBytes > this.#capacity * OVERFLOW_FACTOR) this.#dropSlowest();
    for (const u of this.#uploads.values()) void this.#pump(u);
    this.#progress();
  }

  /**
   * A MediaRecorder chunk (`ondataavailable`'s `event.data`). Blob reads are async;
   * chunks are read and pushed strictly in call order, and `end()` waits for them.
   */
  pushBlob(blob: Blob): Promise<void> {
    const run = this.#blobs.then(async () => {
      const bytes = new Uint8Array(await blob.arrayBuffer());
      if (bytes.byteLength > 0) this.push(bytes);
    });
    this.#blobs = run.catch(() => undefined);
    return run;
  }

  /** `push`, then wait until the resend buffer has room again (backpressure for file uploads). */
  async write(chunk: Uint8Array): Promise<void> {
    this.push(chunk);
    while (!this.#closed && this.#bufferedBytes > this.#capacity) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
    if (this.#closed) throw new PublishError('closed', 'the publisher closed');
  }

  /** No more chunks: every upload sends `end` once caught up; resolves when all remaining ones finalized. */
  async end(): Promise<PublishResult> {
    await this.#blobs;
    if (this.#closed) throw new PublishError('closed', 'the publisher is closed');
    if (this.#ending) throw new PublishError('bad-request', 'end() was already called');
    this.#ending = true;
    this.#sha256 = this.#hash?.digest('hex');
    const result = new Promise<PublishResult>((resolve, reject) => {
      this.#endWaiter = { resolve, reject };
    });
    this.#endTimer = setTimeout(() => this.#fatal('timeout', `servers did not finalize within ${END_TIMEOUT_MS} ms`), END_TIMEOUT_MS);
    for (const u of this.#uploads.values()) void this.#pump(u);
    this.#checkEnd();
    return await result;
  }

  /** Stop everything and release the sessions (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#endTimer);
    clearTimeout(this.#progressTimer);
    this.#o.socket.off('signal', this.#onHubSignal);
    this.#o.socket.off('session-close', this.#onHubSessionClose);
    for (const u of this.#uploads.values()) this.#release(u);
    this.#frames = [];
    this.#bufferedBytes = 0;
    for (const w of this.#roomWaiters.splice(0)) w();
    this.#endWaiter?.reject(new PublishError('closed', 'the publisher closed before the end'));
    this.#endWaiter = null;
  }

  // ---- assignment -----------------------------------------------------------------

  #publishOnce(exclude: string[]): Promise<Reply> {
    const req: PublishRequest = { streamKey: this.#o.streamKey, location: this.#o.location };
    if (this.#streamId) req.streamId = this.#streamId;
    if (this.#streamSecret) req.streamSecret = this.#streamSecret;
    if (exclude.length) req.exclude = exclude.slice(-16);
    return new Promise<Reply>((resolve) => {
      const timer = setTimeout(() => resolve({ ok: false, code: 'timeout', message: 'the hub did not answer publish' }), PUBLISH_ACK_TIMEOUT_MS);
      try {
        this.#o.socket.emit('publish', req, (r: Reply) => {
          clearTimeout(timer);
          resolve(isReply(r) ? r : { ok: false, code: 'internal', message: 'malformed publish reply' });
        });
      } catch (err) {
        clearTimeout(timer);
        resolve({ ok: false, code: 'internal', message: (err as Error).message });
      }
    });
  }

  /** Fewer than two uploads are alive: ask the hub for replacements (excluding every server that failed). */
  async #replace(): Promise<void> {
    if (this.#replacing || this.#closed) return;
    this.#replacing = true;
    try {
      while (!this.#closed && this.#alive().length < 2 && this.#replacements < MAX_REPLACEMENTS) {
        // After end() a new copy is only worth starting while the buffer still holds the whole stream.
        if (this.#ending && this.#alive().length > 0 && (this.#frames[0]?.seq ?? this.#nextSeq) > 0) break;
        // Every copy still alive is finalized: the hub refuses a new one (the id is stored), and end() must not wait for it.
        if (this.#stored()) break;
        this.#replacements++;
        const r = await this.#publishOnce([...this.#dead]);
        if (this.#closed) {
          // Closed (or ended) while asking: give back what the hub opened meanwhile.
          if (r.ok) for (const c of [r.primary, r.backup]) if (c) this.#o.socket.emit('leave', { sessionId: c.sessionId });
          return;
        }
        if (!r.ok) {
          this.#emitWarning(r.code, r.message);
          if (this.#alive().length === 0 && (r.code === 'no-ingest' || this.#replacements >= MAX_REPLACEMENTS)) {
            return this.#fatal(r.code, `every entry server failed and no replacement is available: ${r.message}`);
          }
          await delay(REPLACE_RETRY_BASE_MS * 2 ** Math.min(4, this.#replacements - 1));
          continue;
        }
        this.#emit('assigned', stripOk(r));
        const lost = [...this.#dead].reverse();
        for (const choice of [r.primary, r.backup]) {
          if (!choice || this.#uploads.has(choice.sessionId)) continue;
          const role = r.backup ? (choice === r.primary ? 'primary' : 'backup') : this.#missingRole();
          const from = lost.find((id) => !this.#failovers.some((f) => f.from === id)) ?? lost[0] ?? '';
          const f: FailoverInfo = { from, to: choice.serverId, role };
          this.#failovers.push(f);
          this.#emit('failover', f);
          this.#connect(choice, role);
        }
      }
      if (this.#alive().length === 0) this.#fatal('no-ingest', 'every entry server failed');
    } finally {
      this.#replacing = false;
      this.#checkEnd();
    }
  }

  #missingRole(): 'primary' | 'backup' {
    return this.#alive().some((u) => u.role === 'primary') ? 'backup' : 'primary';
  }

  /** end() was called and every upload still alive has finalized the stream. */
  #stored(): boolean {
    const alive = this.#alive();
    return this.#ending && alive.length > 0 && alive.every((u) => u.state === 'done');
  }

  #alive(): Upload[] {
    return [...this.#uploads.values()].filter((u) => u.state !== 'failed');
  }

  // ---- uploads ----------------------------------------------------------------------

  #connect(choice: PublishReply['primary'], role: 'primary' | 'backup'): void {
    const peer = new this.#o.SimplePeer({ initiator: true, wrtc: this.#o.wrtc, config: { iceServers: this.#o.iceServers ?? [] }, objectMode: true, trickle: true });
    const u: Upload = {
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
    };
    this.#uploads.set(u.sessionId, u);
    const mine = () => !this.#closed && u.state !== 'failed';
    peer.on('signal', (data) => {
      if (mine()) this.#o.socket.emit('signal', { sessionId: u.sessionId, data });
    });
    peer.on('connect', () => {
      if (!mine()) return;
      // The oldest chunk we can still send: a copy that needs older ones refuses (cannot-resume).
      const hello: IngestClientControl = { t: 'hello', streamId: this.#streamId!, mime: this.#o.mime, resumeFrom: this.#frames[0]?.seq ?? this.#nextSeq };
      this.#send(u, hello);
    });
    peer.on('data', (data) => {
      if (mine()) this.#onFrame(u, data);
    });
    peer.on('close', () => {
      if (mine() && u.state !== 'done') this.#failUpload(u, 'peer-closed', 'the connection to the server closed');
    });
    peer.on('error', (err) => {
      if (mine() && u.state !== 'done') this.#failUpload(u, 'peer-error', err.message);
    });
    u.connectTimer = setTimeout(() => {
      if (mine() && u.state === 'connecting') this.#failUpload(u, 'connect-timeout', 'the server did not get ready in time');
    }, UPLOAD_CONNECT_TIMEOUT_MS);
    this.#emit('health', info(u));
  }

  #onFrame(u: Upload, data: unknown): void {
    const r = decodeIngestServerFrame(data);
    if (!r.ok) return this.#emitWarning(r.code, `${u.serverId}: ${r.message}`);
    const msg: IngestServerControl = r.frame.msg;
    switch (msg.t) {
      case 'ready': {
        if (u.state !== 'connecting') return;
        clearTimeout(u.connectTimer);
        const first = this.#frames[0]?.seq ?? this.#nextSeq;
        if (msg.nextSeq < first || msg.nextSeq > this.#nextSeq) {
          return this.#failUpload(u, 'cannot-resume', `${u.serverId} needs chunk ${msg.nextSeq}; the resend buffer holds ${first}..${this.#nextSeq - 1}`);
        }
        const expected = msg.nextSeq === this.#nextSeq ? this.#bytes : this.#frames[msg.nextSeq - first]!.offset;
        if (msg.bytes !== expected) return this.#failUpload(u, 'mismatch', `${u.serverId} holds ${msg.bytes} bytes at chunk ${msg.nextSeq}; expected ${expected}`);
        u.next = msg.nextSeq;
        u.limits = msg.limits;
        u.state = 'streaming';
        this.#emit('health', info(u));
        void this.#pump(u);
        return;
      }
      case 'ack':
        if (msg.seq > u.ackedSeq) {
          u.ackedSeq = msg.seq;
          u.ackedBytes = msg.bytes;
          this.#trim();
          this.#progress();
        }
        return;
      case 'nack':
        // Rewind: the pump continues from there (idempotent on the server).
        if (msg.expected < u.next) u.next = msg.expected;
        return void this.#pump(u);
      case 'done':
        if (this.#sha256 && msg.sha256 !== this.#sha256) return this.#failUpload(u, 'mismatch', `${u.serverId} stored sha256 ${msg.sha256}, the stream's is ${this.#sha256}`);
        u.state = 'done';
        u.sha256 = msg.sha256;
        u.ackedBytes = msg.bytes;
        this.#emit('health', info(u));
        this.#release(u);
        this.#trim();
        return this.#checkEnd();
      case 'error':
        if (msg.fatal) return this.#failUpload(u, msg.code, `${u.serverId}: ${msg.message}`);
        return this.#emitWarning(msg.code, `${u.serverId}: ${msg.message}`);
    }
  }

  /** Sends this upload everything from `u.next` on, one write at a time (the channel's backpressure). */
  async #pump(u: Upload): Promise<void> {
    if (u.pumping) return;
    u.pumping = true;
    try {
      while ((u.state === 'streaming' || u.state === 'ending') && !this.#closed) {
        if (u.next >= this.#nextSeq) {
          if (this.#ending && !u.endSent) {
            u.endSent = true;
            u.state = 'ending';
            this.#emit('health', info(u));
            const end: IngestClientControl = this.#sha256 ? { t: 'end', bytes: this.#bytes, sha256: this.#sha256 } : { t: 'end', bytes: this.#bytes };
            this.#send(u, end);
          }
          return;
        }
        const first = this.#frames[0]?.seq ?? this.#nextSeq;
        const f = this.#frames[u.next - first];
        if (!f) return this.#failUpload(u, 'cannot-resume', `chunk ${u.next} is no longer in the resend buffer`);
        await this.#write(u, f.encoded);
        if ((u.state as UploadState) === 'failed' || this.#closed) return;
        u.next = Math.max(u.next, f.seq + 1);
        u.sentBytes += f.encoded.byteLength;
        this.#wireBytes += f.encoded.byteLength;
        this.#progress();
      }
    } finally {
      u.pumping = false;
    }
  }

  #write(u: Upload, frame: Uint8Array): Promise<void> {
    return new Promise<void>((resolve) => {
      u.cancelWrite = resolve;
      try {
        u.peer.write(frame, (err) => {
          u.cancelWrite = null;
          if (err && u.state !== 'failed') this.#failUpload(u, 'write-failed', err.message);
          resolve();
        });
      } catch (err) {
        u.cancelWrite = null;
        this.#failUpload(u, 'write-failed', (err as Error).message);
        resolve();
      }
    });
  }

  #send(u: Upload, msg: IngestClientControl): void {
    try {
      u.peer.send(encodeIngestControl(msg));
    } catch (err) {
      this.#failUpload(u, 'send-failed', (err as Error).message);
    }
  }

  /** One failure path per upload; the server is excluded from replacements from now on. */
  #failUpload(u: Upload, code: string, message: string): void {
    if (u.state === 'failed' || u.state === 'done') return;
    u.state = 'failed';
    u.error = { code, message };
    this.#dead.add(u.serverId);
    this.#release(u);
    this.#emit('health', info(u));
    this.#trim();
    if (STREAM_ERRORS.has(code)) {
      if (this.#alive().length === 0) return this.#fatal(code, message);
      return this.#checkEnd();
    }
    this.#checkEnd();
    if (!this.#closed) void this.#replace();
  }

  #release(u: Upload): void {
    if (u.released) return;
    u.released = true;
    clearTimeout(u.connectTimer);
    u.cancelWrite?.();
    u.cancelWrite = null;
    try {
      u.peer.destroy();
    } catch {
      // Already destroyed.
    }
    this.#o.socket.emit('leave', { sessionId: u.sessionId });
  }

  /** Drops the slowest live upload when the buffer overflows (push() must not grow memory without bound). */
  #dropSlowest(): void {
    const alive = this.#alive().filter((u) => u.state !== 'done');
    if (alive.length === 0) return;
    const slowest = alive.reduce((a, b) => (b.ackedSeq < a.ackedSeq ? b : a));
    this.#failUpload(slowest, 'too-slow', `${slowest.serverId} fell more than ${this.#capacity * OVERFLOW_FACTOR} bytes behind`);
  }

  /**
   * Frames leave the buffer only when it is over capacity and every live upload
   * has acknowledged them; an upload still connecting may need everything.
   */
  #trim(): void {
    let floor = this.#nextSeq;
    for (const u of this.#uploads.values()) {
      if (u.state === 'failed' || u.state === 'done') continue;
      floor = Math.min(floor, u.state === 'connecting' ? -1 : u.ackedSeq);
    }
    let drop = 0;
    let bytes = this.#bufferedBytes;
    while (drop < this.#frames.length && bytes > this.#capacity && this.#frames[drop]!.seq <= floor) bytes -= this.#frames[drop++]!.size;
    if (drop > 0) {
      this.#frames = this.#frames.slice(drop);
      this.#bufferedBytes = bytes;
    }
    if (this.#bufferedBytes <= this.#capacity || this.#closed) for (const w of this.#roomWaiters.splice(0)) w();
  }

  #checkEnd(): void {
    if (!this.#ending || !this.#endWaiter) return;
    const all = [...this.#uploads.values()];
    if ((this.#replacing && !this.#stored()) || all.some((u) => u.state === 'connecting' || u.state === 'streaming' || u.state === 'ending')) return;
    const stored = all.filter((u) => u.state === 'done');
    if (stored.length === 0) return this.#fatal('no-ingest', `no server stored the stream: ${describeFailures(all)}`);
    const result: PublishResult = { streamId: this.#streamId!, bytes: this.#bytes, stored: stored.map((u) => u.serverId), failovers: [...this.#failovers] };
    if (this.#sha256) result.sha256 = this.#sha256;
    const w = this.#endWaiter;
    this.#endWaiter = null;
    clearTimeout(this.#endTimer);
    this.#progress(true);
    this.#emit('end', result);
    w.resolve(result);
    this.close();
  }

  // ---- hub ----------------------------------------------------------------------------

  readonly #onHubSignal = (msg: unknown): void => {
    const m = msg as { sessionId?: unknown; data?: unknown } | null;
    const u = typeof m?.sessionId === 'string' ? this.#uploads.get(m.sessionId) : undefined;
    if (!u || u.state === 'failed' || typeof m!.data !== 'object' || m!.data === null) return;
    try {
      u.peer.signal(m!.data);
    } catch (err) {
      this.#failUpload(u, 'bad-signal', (err as Error).message);
    }
  };

  readonly #onHubSessionClose = (msg: unknown): void => {
    const m = msg as { sessionId?: unknown; reason?: unknown } | null;
    const u = typeof m?.sessionId === 'string' ? this.#uploads.get(m.sessionId) : undefined;
    if (!u || u.state === 'done') return;
    const t = setTimeout(() => this.#failUpload(u, 'session-closed', `the hub closed the session to ${u.serverId} (${String(m!.reason ?? 'no reason')})`), HUB_CLOSE_GRACE_MS);
    (t as { unref?: () => void }).unref?.();
  };

  // ---- events ---------------------------------------------------------------------------

  #progress(force = false): void {
    if (this.#closed) return;
    const t = now();
    if (!force && t - this.#progressAt < PROGRESS_INTERVAL_MS) {
      if (!this.#progressTimer) {
        this.#progressTimer = setTimeout(() => {
          this.#progressTimer = undefined;
          this.#progress(true);
        }, PROGRESS_INTERVAL_MS - (t - this.#progressAt));
        (this.#progressTimer as { unref?: () => void }).unref?.();
      }
      return;
    }
    this.#progressAt = t;
    this.#emit('progress', { bytes: this.#bytes, wireBytes: this.#wireBytes, bufferedBytes: this.#bufferedBytes, uploads: this.uploads() });
  }

  #emitWarning(code: string, message: string): void {
    this.#emit('warning', { code, message });
  }

  #fatal(code: string, message: string): void {
    if (this.#closed) return;
    this.#emit('error', { code, message });
    this.#endWaiter?.reject(new PublishError(code, message));
    this.#endWaiter = null;
    this.close();
  }

  #emit<K extends keyof PublisherEventMap>(type: K, detail: PublisherEventMap[K]['detail']): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

function info(u: Upload): UploadInfo {
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

function describeFailures(uploads: UploadInfo[]): string {
  return uploads.map((u) => `${u.serverId}: ${u.error ? `${u.error.code} (${u.error.message})` : u.state}`).join('; ') || 'no server';
}

function stripOk(r: { ok: true } & PublishReply): PublishReply {
  const { ok: _ok, ...rest } = r;
  return rest;
}

function isReply(r: unknown): r is Reply {
  if (!r || typeof r !== 'object') return false;
  const o = r as Record<string, unknown>;
  if (o.ok === false) return typeof o.code === 'string';
  const p = o.primary as Record<string, unknown> | undefined;
  return o.ok === true && typeof o.streamId === 'string' && !!p && typeof p.serverId === 'string' && typeof p.sessionId === 'string';
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
