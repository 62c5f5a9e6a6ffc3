// Publishes one live stream through the hub to a primary and a backup entry server, with resends and failover. Node and browser.
// Each upload's own protocol (frames, pump, its hub session) is upload-driver.ts; the resend buffer, resend-buffer.ts;
// the hub request, publish-request.ts; which uploads a replacement starts, replacement-plan.ts.
import type { IngestLimits } from '../signaling/protocol/ingest-frames.js';
import type { PublishReply } from '../signaling/protocol/messages.js';
import { backoffMs, delay } from '../common/retry.js';
import { Throttle } from '../common/throttle.js';
import {
  END_TIMEOUT_MS,
  MAX_REPLACEMENTS,
  OVERFLOW_FACTOR,
  PROGRESS_INTERVAL_MS,
  REPLACE_RETRY_BASE_MS,
  RESEND_BUFFER_BYTES,
  SILENCE_CHECK_MS,
  STREAM_ERRORS,
  UPLOAD_SILENT_MS,
  PublishError,
  type FailoverInfo,
  type HashFactory,
  type PublisherEventMap,
  type PublisherOptions,
  type PublishResult,
  type UploadInfo,
} from './publisher-types.js';
import { askPublish, stripOk, type HeldStream } from './publish-request.js';
import { replacementPlan } from './replacement-plan.js';
import { ResendBuffer } from './resend-buffer.js';
import { TypedEventTarget } from './typed-events.js';
import { describeFailures, info, newUpload, releaseUpload, strictestLimits, UploadSet, watchSilence, type Upload } from './upload.js';
import { driveUpload, onHubSessionClose, onHubSignal, pumpUpload, type UploadHost } from './upload-driver.js';

export * from './publisher-types.js';

/** Replacement requests back off from REPLACE_RETRY_BASE_MS, doubling, at most 16× that. */
const REPLACE_BACKOFF = { baseMs: REPLACE_RETRY_BASE_MS, maxMs: REPLACE_RETRY_BASE_MS * 16 } as const;

export class Publisher extends TypedEventTarget<PublisherEventMap> {
  readonly #o: PublisherOptions;
  readonly #buffer: ResendBuffer;
  readonly #hash: ReturnType<HashFactory> | undefined;
  readonly #uploads = new UploadSet();
  readonly #failovers: FailoverInfo[] = [];
  #wireBytes = 0;
  #streamId: string | undefined;
  /** Proof of ownership of the stream id, from the hub's first reply; sent with every later publish. */
  #streamSecret: string | undefined;
  #started = false;
  #closed = false;
  #ending = false;
  #replacing = false;
  #replacements = 0;
  #endWaiter: { resolve: (r: PublishResult) => void; reject: (e: PublishError) => void } | null = null;
  #endTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #progressThrottle = new Throttle(PROGRESS_INTERVAL_MS, () =>
    this.emit('progress', {
      bytes: this.#buffer.bytes,
      wireBytes: this.#wireBytes,
      bufferedBytes: this.#buffer.bufferedBytes,
      uploads: this.uploads(),
    }),
  );
  #sha256: string | undefined;
  #blobs: Promise<void> = Promise.resolve();
  readonly #host: UploadHost;

  constructor(opts: PublisherOptions) {
    super();
    this.#o = opts;
    this.#buffer = new ResendBuffer(opts.resendBufferBytes ?? RESEND_BUFFER_BYTES, opts.startAt);
    this.#hash = opts.startAt ? undefined : opts.hash?.();
    if (opts.streamId) this.#streamId = opts.streamId;
    const self = this;
    this.#host = {
      buffer: this.#buffer,
      get closed() {
        return self.#closed;
      },
      get ending() {
        return self.#ending;
      },
      get sha256() {
        return self.#sha256;
      },
      get streamId() {
        return self.#streamId!;
      },
      get mime() {
        return self.#o.mime;
      },
      signal: (sessionId, data) => this.#o.socket.emit('signal', { sessionId, data }),
      fail: (u, code, message) => this.#failUpload(u, code, message),
      hubGone: (u, message) => this.#hubGone(u, message),
      warn: (code, message) => this.#emitWarning(code, message),
      health: (u) => this.emit('health', info(u)),
      sent: (bytes) => {
        this.#wireBytes += bytes;
        this.#progress();
      },
      acked: () => {
        this.#trim();
        this.#progress();
      },
      stored: (u) => {
        this.#release(u);
        this.#trim();
        this.#checkEnd();
      },
    };
  }

  get streamId(): string | undefined {
    return this.#streamId;
  }

  /** Stream bytes pushed so far. */
  get bytes(): number {
    return this.#buffer.bytes;
  }

  /** Bytes put on all channels (headers and resends included): the upload's real cost. */
  get wireBytes(): number {
    return this.#wireBytes;
  }

  get bufferedBytes(): number {
    return this.#buffer.bufferedBytes;
  }

  /** The strictest quota among the servers taking the stream (for pacing a file upload). */
  get limits(): IngestLimits | undefined {
    return strictestLimits(this.#uploads.all());
  }

  uploads(): UploadInfo[] {
    return this.#uploads.all().map(info);
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
    const r = await askPublish(this.#o, this.#held(), []);
    if (!r.ok) {
      const e = new PublishError(r.code, r.message);
      this.#fatal(e.code, e.message);
      throw e;
    }
    const { ok: _ok, ...reply } = r;
    this.#streamId = reply.streamId;
    if (typeof reply.streamSecret === 'string') this.#streamSecret = reply.streamSecret;
    this.emit('assigned', reply);
    this.#connect(reply.primary, 'primary');
    if (reply.backup) this.#connect(reply.backup, 'backup');
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        const all = this.#uploads.all();
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
    this.#buffer.push(chunk);
    this.#hash?.update(chunk);
    this.#trim();
    if (this.#buffer.bufferedBytes > this.#buffer.capacity * OVERFLOW_FACTOR) this.#dropSlowest();
    for (const u of this.#uploads.all()) void pumpUpload(this.#host, u);
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
    while (!this.#closed && this.#buffer.bufferedBytes > this.#buffer.capacity) await this.#buffer.waitForRoom();
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
    for (const u of this.#uploads.all()) void pumpUpload(this.#host, u);
    this.#checkEnd();
    return await result;
  }

  /** Stop everything and release the sessions (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#endTimer);
    this.#progressThrottle.cancel();
    this.#o.socket.off('signal', this.#onHubSignal);
    this.#o.socket.off('session-close', this.#onHubSessionClose);
    for (const u of this.#uploads.all()) this.#release(u);
    this.#buffer.clear();
    this.#endWaiter?.reject(new PublishError('closed', 'the publisher closed before the end'));
    this.#endWaiter = null;
  }

  // ---- assignment -----------------------------------------------------------------

  /** Fewer than two uploads are alive: ask the hub for replacements (excluding every server that failed). */
  async #replace(): Promise<void> {
    if (this.#replacing || this.#closed) return;
    this.#replacing = true;
    try {
      // Counted against the uploads the hub still places: one whose server it dropped gets its replacement at once.
      while (!this.#closed && this.#uploads.placed().length < 2 && this.#replacements < MAX_REPLACEMENTS) {
        // After end() a new copy is only worth starting while the buffer still holds the whole stream.
        if (this.#ending && this.#uploads.alive().length > 0 && this.#buffer.firstSeq > 0) break;
        // Every copy still alive is finalized: the hub refuses a new one (the id is stored), and end() must not wait for it.
        if (this.#stored()) break;
        this.#replacements++;
        const r = await askPublish(this.#o, this.#held(), this.#uploads.dead());
        if (this.#closed) {
          // Closed (or ended) while asking: give back what the hub opened meanwhile.
          if (r.ok) for (const c of [r.primary, r.backup]) if (c) this.#o.socket.emit('leave', { sessionId: c.sessionId });
          return;
        }
        if (!r.ok) {
          this.#emitWarning(r.code, r.message);
          if (this.#uploads.alive().length === 0 && (r.code === 'no-ingest' || this.#replacements >= MAX_REPLACEMENTS)) {
            return this.#fatal(r.code, `every entry server failed and no replacement is available: ${r.message}`);
          }
          await delay(backoffMs(this.#replacements - 1, REPLACE_BACKOFF));
          continue;
        }
        this.emit('assigned', stripOk(r));
        for (const { choice, role, failover } of replacementPlan(r, this.#uploads, this.#uploads.dead(), this.#failovers)) {
          this.#failovers.push(failover);
          this.emit('failover', failover);
          this.#connect(choice, role);
        }
      }
      if (this.#uploads.alive().length === 0) this.#fatal('no-ingest', 'every entry server failed');
    } finally {
      this.#replacing = false;
      this.#checkEnd();
    }
  }

  #held(): HeldStream {
    return { streamId: this.#streamId, streamSecret: this.#streamSecret };
  }

  /** end() was called and every upload still alive has finalized the stream. */
  #stored(): boolean {
    return this.#ending && this.#uploads.allStored();
  }

  // ---- uploads ----------------------------------------------------------------------

  #connect(choice: PublishReply['primary'], role: 'primary' | 'backup'): void {
    const peer = new this.#o.SimplePeer({
      initiator: true,
      wrtc: this.#o.wrtc,
      config: { iceServers: this.#o.iceServers ?? [] },
      objectMode: true,
      trickle: true,
    });
    const u = newUpload(choice, role, peer);
    this.#uploads.add(u);
    driveUpload(this.#host, u);
  }

  /** One failure path per upload; the server is excluded from replacements from now on. */
  #failUpload(u: Upload, code: string, message: string): void {
    if (u.state === 'failed' || u.state === 'done') return;
    u.state = 'failed';
    u.error = { code, message };
    this.#uploads.markDead(u.serverId);
    this.#release(u);
    this.emit('health', info(u));
    this.#trim();
    if (STREAM_ERRORS.has(code)) {
      if (this.#uploads.alive().length === 0) return this.#fatal(code, message);
      return this.#checkEnd();
    }
    this.#checkEnd();
    if (!this.#closed) void this.#replace();
  }

  /**
   * The hub dropped the upload's server from its table (missed heartbeats). It may be dead, or only stalled (a long
   * pause, a starved machine) with its copy intact and its data channel open. A replacement is asked for at once, as
   * for a failure, and the server is never asked for again; but the upload goes on while the server answers, and
   * fails only once it owes an answer and has been silent for UPLOAD_SILENT_MS. The hub no longer watches the
   * session, so that watch stays for the rest of the upload.
   */
  #hubGone(u: Upload, message: string): void {
    if (u.state === 'failed' || u.state === 'done' || u.hubGoneAt !== undefined || this.#closed) return;
    const since = Date.now();
    u.hubGoneAt = since;
    this.#uploads.markDead(u.serverId);
    this.#emitWarning('server-gone', `${message}: the upload goes on while the server answers, and a replacement is asked for`);
    watchSilence(u, since, UPLOAD_SILENT_MS, SILENCE_CHECK_MS, () =>
      this.#failUpload(u, 'session-closed', `${message}, and the server has not answered for ${UPLOAD_SILENT_MS} ms`),
    );
    void this.#replace();
  }

  /** Releases the upload (once) and gives its hub session back. */
  #release(u: Upload): void {
    if (releaseUpload(u)) this.#o.socket.emit('leave', { sessionId: u.sessionId });
  }

  /** Drops the slowest live upload when the buffer overflows (push() must not grow memory without bound). */
  #dropSlowest(): void {
    const slowest = this.#uploads.slowest();
    if (!slowest) return;
    this.#failUpload(slowest, 'too-slow', `${slowest.serverId} fell more than ${this.#buffer.capacity * OVERFLOW_FACTOR} bytes behind`);
  }

  /**
   * Frames leave the buffer only when it is over capacity and every live upload
   * has acknowledged them; an upload still connecting may need everything.
   */
  #trim(): void {
    this.#buffer.trim(this.#uploads.ackedFloor(this.#buffer.nextSeq), this.#closed);
  }

  #checkEnd(): void {
    if (!this.#ending || !this.#endWaiter) return;
    if ((this.#replacing && !this.#stored()) || this.#uploads.busy()) return;
    const all = this.#uploads.all();
    const stored = all.filter((u) => u.state === 'done');
    if (stored.length === 0) return this.#fatal('no-ingest', `no server stored the stream: ${describeFailures(all)}`);
    const result: PublishResult = {
      streamId: this.#streamId!,
      bytes: this.#buffer.bytes,
      stored: stored.map((u) => u.serverId),
      failovers: [...this.#failovers],
    };
    if (this.#sha256) result.sha256 = this.#sha256;
    const w = this.#endWaiter;
    this.#endWaiter = null;
    clearTimeout(this.#endTimer);
    this.#progress(true);
    this.emit('end', result);
    w.resolve(result);
    this.close();
  }

  // ---- hub ----------------------------------------------------------------------------

  readonly #onHubSignal = (msg: unknown): void => onHubSignal(this.#host, (id) => this.#uploads.get(id), msg);

  readonly #onHubSessionClose = (msg: unknown): void => onHubSessionClose(this.#host, (id) => this.#uploads.get(id), msg);

  // ---- events ---------------------------------------------------------------------------

  #progress(force = false): void {
    if (!this.#closed) this.#progressThrottle.call(force);
  }

  #emitWarning(code: string, message: string): void {
    this.emit('warning', { code, message });
  }

  #fatal(code: string, message: string): void {
    if (this.#closed) return;
    this.emit('error', { code, message });
    this.#endWaiter?.reject(new PublishError(code, message));
    this.#endWaiter = null;
    this.close();
  }
}
