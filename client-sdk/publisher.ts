// Publishes one live stream through the hub to a primary and a backup entry server, with resends and failover. Node and browser.
// Each upload's own protocol (frames, pump, its hub session) is upload-driver.ts; the resend buffer, resend-buffer.ts;
// the hub request, publish-request.ts; replacing lost uploads, replacements.ts (which uploads one starts,
// replacement-plan.ts); what start() waits for, first-upload.ts; what end() returns, end-wait.ts.
import type { IngestLimits } from '../signaling/protocol/ingest-frames.js';
import type { PublishReply } from '../signaling/protocol/messages.js';
import { Throttle } from '../common/throttle.js';
import {
  END_SILENT_MS,
  END_TIMEOUT_MS,
  OVERFLOW_FACTOR,
  PROGRESS_INTERVAL_MS,
  RESEND_BUFFER_BYTES,
  SILENCE_CHECK_MS,
  STREAM_ERRORS,
  UPLOAD_SILENT_MS,
  PublishError,
  type HashFactory,
  type PublisherEventMap,
  type PublisherOptions,
  type PublishResult,
  type UploadInfo,
} from './publisher-types.js';
import { EndWait } from './end-wait.js';
import { firstUpload } from './first-upload.js';
import { askPublish, stripOk, type HeldStream } from './publish-request.js';
import { type ReplacementHost, Replacements } from './replacements.js';
import { ResendBuffer } from './resend-buffer.js';
import { TypedEventTarget } from './typed-events.js';
import { describeFailures, info, newUpload, releaseUpload, strictestLimits, UploadSet, watchSilence, type Upload } from './upload.js';
import { driveUpload, onHubSessionClose, onHubSignal, pumpUpload, type UploadHost } from './upload-driver.js';

export * from './publisher-types.js';

export class Publisher extends TypedEventTarget<PublisherEventMap> {
  readonly #o: PublisherOptions;
  readonly #buffer: ResendBuffer;
  readonly #hash: ReturnType<HashFactory> | undefined;
  readonly #uploads = new UploadSet();
  #wireBytes = 0;
  #streamId: string | undefined;
  /** Proof of ownership of the stream id, from the hub's first reply; sent with every later publish. */
  #streamSecret: string | undefined;
  #started = false;
  #closed = false;
  #ending = false;
  readonly #endWait = new EndWait();
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
  /** The Publisher as its uploads and its replacements see it. */
  readonly #host: UploadHost & ReplacementHost;
  readonly #replacements: Replacements;
  /** How long a watched upload may stay silent: UPLOAD_SILENT_MS, END_SILENT_MS once end() was called. */
  readonly #silence = { silentMs: UPLOAD_SILENT_MS, endSilentMs: END_SILENT_MS, checkMs: SILENCE_CHECK_MS, ended: () => this.#ending };

  constructor(opts: PublisherOptions) {
    super();
    this.#o = opts;
    this.#buffer = new ResendBuffer(opts.resendBufferBytes ?? RESEND_BUFFER_BYTES, opts.startAt, opts.reread !== undefined);
    this.#hash = opts.startAt ? undefined : opts.hash?.();
    if (opts.streamId) this.#streamId = opts.streamId;
    const self = this;
    this.#host = {
      buffer: this.#buffer,
      reread: opts.reread,
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
      ended: (u) => this.#watchEnd(u),
      uploads: this.#uploads,
      ask: (exclude) => askPublish(this.#o, this.#held(), exclude),
      leave: (sessionId) => this.#o.socket.emit('leave', { sessionId }),
      assigned: (reply) => this.emit('assigned', reply),
      failover: (f) => this.emit('failover', f),
      connect: (choice, role) => this.#connect(choice, role, true),
      fatal: (code, message) => this.#fatal(code, message),
      settled: () => this.#checkEnd(),
    };
    this.#replacements = new Replacements(this.#host);
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
    this.#o.socket.on('disconnect', this.#onHubDisconnect);
    const r = await askPublish(this.#o, this.#held(), []);
    if (!r.ok) {
      const e = new PublishError(r.code, r.message);
      this.#fatal(e.code, e.message);
      throw e;
    }
    const reply = stripOk(r);
    this.#streamId = reply.streamId;
    if (typeof reply.streamSecret === 'string') this.#streamSecret = reply.streamSecret;
    this.emit('assigned', reply);
    this.#connect(reply.primary, 'primary');
    if (reply.backup) this.#connect(reply.backup, 'backup');
    await firstUpload(this, this.#uploads, () => this.#closed);
    return reply;
  }

  /**
   * Asks the hub for a second entry server when one alone takes the stream (the hub's answer named no backup: a resumed
   * WHIP broadcast is placed on its copy's server only), placed and filled from chunk 0 as a lost upload's replacement
   * is. Only while the stream can be sent whole from chunk 0 (held, or read again: `reread`); else nothing happens. One
   * ask: a refusal (no other server) stands, and the stream goes on with one copy.
   */
  completeCopies(): void {
    if (this.#started && !this.#closed && !this.#ending && this.#buffer.resendFrom === 0) void this.#replacements.run(false);
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
    const result = this.#endWait.begin(END_TIMEOUT_MS, () => this.#endDeadline());
    for (const u of this.#uploads.all()) {
      this.#watchEnd(u);
      void pumpUpload(this.#host, u);
    }
    this.#checkEnd();
    return await result;
  }

  /** Stop everything and release the sessions (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#endWait.stop();
    this.#progressThrottle.cancel();
    this.#o.socket.off('signal', this.#onHubSignal);
    this.#o.socket.off('session-close', this.#onHubSessionClose);
    this.#o.socket.off('disconnect', this.#onHubDisconnect);
    for (const u of this.#uploads.all()) this.#release(u);
    this.#buffer.clear();
    this.#endWait.reject(new PublishError('closed', 'the publisher closed before the end'));
  }

  // ---- assignment -----------------------------------------------------------------

  #held(): HeldStream {
    return { streamId: this.#streamId, streamSecret: this.#streamSecret };
  }

  // ---- uploads ----------------------------------------------------------------------

  #connect(choice: PublishReply['primary'], role: 'primary' | 'backup', replacement = false): void {
    const peer = new this.#o.SimplePeer({
      initiator: true,
      wrtc: this.#o.wrtc,
      config: { iceServers: this.#o.iceServers ?? [] },
      objectMode: true,
      trickle: true,
    });
    const u = newUpload(choice, role, peer);
    if (replacement) u.replacement = true;
    this.#uploads.add(u);
    driveUpload(this.#host, u);
  }

  /** The first stream error a server gave (`STREAM_ERRORS`): no upload failing after it asks for a replacement. */
  #streamError: { code: string; message: string } | null = null;

  /** One failure path per upload; the server is excluded from replacements from now on. */
  #failUpload(u: Upload, code: string, message: string): void {
    if (u.state === 'failed' || u.state === 'done') return;
    u.state = 'failed';
    u.error = { code, message };
    this.#uploads.markDead(u.serverId);
    this.#release(u);
    this.emit('health', info(u));
    this.#trim();
    if (STREAM_ERRORS.has(code)) this.#streamError ??= { code, message };
    // The stream itself was refused (by this server or another): no server takes it, and another upload's channel that
    // closed meanwhile is most likely that refusal arriving another way (its error frame lost with the reset: seen in
    // ingest-nonsense under load, which then asked for a replacement and reported `no-ingest`).
    const refused = this.#streamError;
    if (refused) {
      if (this.#uploads.alive().length === 0) return this.#fatal(refused.code, refused.message);
      return this.#checkEnd();
    }
    // The round starts first: the end waits for it (a copy lost at the end is made again while the stream is held).
    if (!this.#closed) void this.#replacements.run();
    this.#checkEnd();
  }

  /**
   * The hub dropped the upload's server from its table (missed heartbeats): dead, or only stalled (a long pause, a
   * starved machine) with its copy intact. A replacement is asked for at once and the server is never asked for again;
   * but the upload goes on while the server answers, and fails only once it owes an answer and has been silent for
   * UPLOAD_SILENT_MS (END_SILENT_MS after the end): the hub no longer watches the session, this watch does.
   */
  #hubGone(u: Upload, message: string): void {
    if (u.state === 'failed' || u.state === 'done' || u.hubGoneAt !== undefined || this.#closed) return;
    const since = Date.now();
    u.hubGoneAt = since;
    this.#uploads.markDead(u.serverId);
    this.#emitWarning('server-gone', `${message}: the upload goes on while the server answers, and a replacement is asked for`);
    this.#watch(u, since, 'session-closed', (ms) => `${message}, and the server has not answered for ${ms} ms`);
    void this.#replacements.run();
  }

  /** Fails the upload with `code` once it owes an answer and its server has been silent too long (`silenceBound`). */
  #watch(u: Upload, since: number, code: string, why: (ms: number) => string): void {
    watchSilence(u, since, this.#silence, (ms) => this.#failUpload(u, code, why(ms)));
  }

  /** end() was called, or the upload sent `end`: owing an answer, silent for END_SILENT_MS, it fails (see END_SILENT_MS). */
  #watchEnd(u: Upload): void {
    if (u.silenceTimer !== undefined || u.state === 'failed' || u.state === 'done' || this.#closed) return;
    this.#watch(u, Date.now(), 'server-silent', (ms) => `${u.serverId} did not confirm the end: nothing from it for ${ms} ms`);
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

  /** Frames leave the buffer only once it is over capacity and every live upload acknowledged them (a connecting one may need all). */
  #trim(): void {
    this.#buffer.trim(this.#uploads.ackedFloor(this.#buffer.nextSeq), this.#closed);
  }

  #checkEnd(): void {
    if (!this.#ending || !this.#endWait.waiting) return;
    if (this.#replacements.running || this.#uploads.busy()) return;
    const all = this.#uploads.all();
    if (!all.some((u) => u.state === 'done')) return this.#fatal('no-ingest', `no server stored the stream: ${describeFailures(all)}`);
    this.#finish();
  }

  /** END_TIMEOUT_MS after end(): the publish ends with the copies stored by then, if any (the others are given up). */
  #endDeadline(): void {
    if (this.#uploads.stored().length === 0) return this.#fatal('timeout', `servers did not finalize within ${END_TIMEOUT_MS} ms`);
    this.#emitWarning('timeout', `not every copy was finalized within ${END_TIMEOUT_MS} ms: the stream ends with those stored`);
    this.#finish();
  }

  /** Resolves end() with the copies stored, and closes. */
  #finish(): void {
    const result: PublishResult = {
      streamId: this.#streamId!,
      bytes: this.#buffer.bytes,
      stored: this.#uploads.stored(),
      failovers: [...this.#replacements.failovers],
    };
    if (this.#sha256) result.sha256 = this.#sha256;
    else {
      // A stream continued from a stored copy (startAt) was not hashed here from byte 0: the servers' own sums of
      // their whole copies say it, when they agree.
      const sums = new Set(this.#uploads.all().flatMap((u) => (u.state === 'done' && u.sha256 ? [u.sha256] : [])));
      if (sums.size === 1) result.sha256 = [...sums][0]!;
      else if (sums.size > 1) this.#emitWarning('mismatch', `the servers' copies differ: sha256 ${[...sums].join(', ')}`);
    }
    const w = this.#endWait.take()!;
    this.#progress(true);
    this.emit('end', result);
    w.resolve(result);
    this.close();
  }

  // ---- hub ----------------------------------------------------------------------------

  readonly #onHubSignal = (msg: unknown): void => onHubSignal(this.#host, (id) => this.#uploads.get(id), msg);

  readonly #onHubSessionClose = (msg: unknown): void => onHubSessionClose(this.#host, (id) => this.#uploads.get(id), msg);

  /**
   * The hub connection dropped: no hub tells this publisher any more that a server left the table (the hub it comes
   * back to, maybe another, holds none of its sessions). Each upload then fails once it owes an answer and its server
   * has said nothing for UPLOAD_SILENT_MS (END_SILENT_MS after the end), as after the hub's notice (`#hubGone`); the
   * copy it would have held is made again elsewhere, even after the end (Replacements).
   */
  readonly #onHubDisconnect = (): void => {
    const since = Date.now();
    for (const u of this.#uploads.all()) {
      if (u.state === 'failed' || u.state === 'done' || u.silenceTimer !== undefined) continue;
      this.#watch(u, since, 'server-silent', (ms) => `the hub connection dropped, and the server has not answered for ${ms} ms`);
    }
  };

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
    this.#endWait.reject(new PublishError(code, message));
    this.close();
  }
}
