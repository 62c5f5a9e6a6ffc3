// Appends one live stream's chunks to `<id>.webm.part`, fsyncs, indexes Clusters, and finalizes to `<id>.webm`.
import { EdgeWaiters } from './edge-waiters.js';
import { createHash, type Hash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { within } from '../../common/within.js';
import { ClusterIndex } from './cluster-index.js';
import { IngestError, IngestErrorCode, ioError } from './errors.js';
import { allowedStreamBytes, liveBacklogBytes, quotaRefusal } from './ingest-limits.js';
import { claimPart, releasePart } from './part-lock.js';
import type { AppendResult, Finalized, LiveWriterEvents, LiveWriterOptions, WriterState } from './live-writer-types.js';
import { WriteTail } from './write-tail.js';
import { nodeWriterIo, readFully, renameDurably, writeFully, type WriterFile, type WriterIo } from './writer-io.js';

/** A live file's name is the final name plus this; the store only catalogs `*.webm`. */
export const PART_SUFFIX = '.part';
/** Acks follow fsyncs; this is how often a growing file is fsynced (the floor is ≤ 1 s). */
export const FSYNC_INTERVAL_MS = 200;

/**
 * One stream's file. Chunks arrive with consecutive sequence numbers and wait in
 * memory; every FSYNC_INTERVAL_MS everything accepted is written in one write,
 * fsynced, and the highest fsynced sequence number is announced (`durable`),
 * which is the only thing the ingest session acknowledges. The file is claimed
 * with a lock naming this process, so no other instance removes it as stale. `end()` fsyncs, checks bytes and sha256, renames
 * the file to its final name and fsyncs the directory, so a finalized file is
 * always complete; any failure leaves no `<id>.webm` behind.
 */
export class LiveWriter extends EventEmitter<LiveWriterEvents> {
  /** Live readers waiting for the next chunk. */
  readonly #edge = new EdgeWaiters();
  readonly streamId: string;
  readonly finalPath: string;
  readonly partPath: string;
  readonly index = new ClusterIndex();
  readonly startedAtMs: number;
  #mediaZeroAtMs: number | undefined;
  mime: string;
  readonly #o: LiveWriterOptions;
  readonly #io: WriterIo;
  readonly #now: () => number;
  readonly #hash: Hash = createHash('sha256');
  readonly #tail: WriteTail;
  #file: WriterFile | undefined;
  #state: WriterState = 'open';
  #nextSeq = 0;
  #bytes = 0;
  #diskSeq = -1;
  #diskBytes = 0;
  #durableSeq = -1;
  #durableBytes = 0;
  #chain: Promise<void> = Promise.resolve();
  #syncing: Promise<void> | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #failure: IngestError | undefined;
  #failMode: 'remove' | 'salvage' | 'abandon' | undefined;
  #writeFailed = false;
  #salvaged: number | undefined;
  #sha256: string | undefined;
  /** When the stream stopped growing (finalized or failed), on this writer's clock. */
  #endedAtMs: number | undefined;
  /** The finalized file's mark (WriterIo.markAt) just after its rename: a reopen goes on only from the same bytes. */
  #finalMark: string | undefined;

  private constructor(opts: LiveWriterOptions) {
    super();
    this.#o = opts;
    this.streamId = opts.streamId;
    this.finalPath = opts.finalPath;
    this.partPath = opts.finalPath + PART_SUFFIX;
    this.mime = opts.mime;
    this.#io = opts.io ?? nodeWriterIo;
    this.#now = opts.now ?? Date.now;
    this.#tail = new WriteTail(opts.tailBytes);
    this.startedAtMs = opts.startedAtMs ?? this.#now();
    this.index.onClusterTime = (timeMs) => {
      const zero = this.#now() - timeMs;
      if (this.#mediaZeroAtMs === undefined || zero < this.#mediaZeroAtMs) this.#mediaZeroAtMs = zero;
    };
  }

  /**
   * When media time 0 of this stream was, on this server's clock, ms: the earliest (arrival − timecode) over the
   * Clusters received. A Cluster arrives after it was captured, so this is never before the real capture of time 0:
   * a player's latency (its clock − (this + media time)) is a lower bound of capture to screen, short of it by the
   * publisher's own delay (encoder, pipeline, network) — below zero when that delay is longer than the player's
   * (a WHIP publisher's H.264 read −0.65 s at its lowest in one run).
   * Not when the publish started (startedAtMs): the encoder starts after its upload connects, or (a WHIP relay) before.
   * Undefined until the first Cluster's Timecode arrived.
   */
  get mediaZeroAtMs(): number | undefined {
    return this.#mediaZeroAtMs;
  }

  /**
   * Claims and creates (truncating a stale leftover) `<finalPath>.part` and starts the
   * fsync timer. Refuses with `conflict` when another running process writes that file.
   */
  static async create(opts: LiveWriterOptions): Promise<LiveWriter> {
    const w = new LiveWriter(opts);
    let claimed: boolean;
    try {
      claimed = await claimPart(w.partPath);
    } catch (err) {
      throw ioError(err, `locking ${w.partPath}`);
    }
    if (!claimed) throw new IngestError(IngestErrorCode.conflict, `another process on this storage is writing ${opts.streamId}`);
    try {
      w.#file = await w.#io.create(w.partPath);
    } catch (err) {
      await releasePart(w.partPath);
      throw ioError(err, `creating ${w.partPath}`);
    }
    w.#startTimer();
    return w;
  }

  /** Flushes every fsync interval while the stream is open. */
  #startTimer(): void {
    const every = Math.min(1000, Math.max(10, this.#o.fsyncIntervalMs ?? FSYNC_INTERVAL_MS));
    clearInterval(this.#timer);
    this.#timer = setInterval(() => void this.flush(), every);
    this.#timer.unref?.();
  }

  /** Failed, and its partial copy is being kept (salvaged under its name) rather than removed. */
  get keepsCopy(): boolean {
    return this.#state === 'failed' && this.#failMode === 'salvage';
  }

  get state(): WriterState {
    return this.#state;
  }

  /** True until finalized or failed: viewers may expect more bytes. */
  get live(): boolean {
    return this.#state === 'open' || this.#state === 'ending';
  }

  /** Bytes accepted (readable), durable or not. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Resolves when more bytes are readable or the stream ended, or after `timeoutMs` at the latest. */
  grown(timeoutMs: number): Promise<void> {
    return this.live ? this.#edge.wait(timeoutMs) : Promise.resolve();
  }

  /** What a reader can get: `bytes`, or after a salvage the length the file was cut to. */
  get readableBytes(): number {
    return this.#salvaged ?? this.#bytes;
  }

  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Highest fsynced sequence number, -1 before the first. */
  get durableSeq(): number {
    return this.#durableSeq;
  }

  get durableBytes(): number {
    return this.#durableBytes;
  }

  get failure(): IngestError | undefined {
    return this.#failure;
  }

  /** After a quota failure: the length the partial copy was cut to and finalized at. */
  get salvagedBytes(): number | undefined {
    return this.#salvaged;
  }

  /** How far the live edge may run ahead of the newest Cluster start, bytes (liveBacklogBytes): a late joiner gets at most this at once. */
  get maxBacklogBytes(): number {
    return liveBacklogBytes(this.#o.limits);
  }

  /** The stream's average bitrate since its start (`startedAtMs`, the cluster's clock), bits/s; undefined in its first second. */
  averageBps(atMs = this.#now()): number | undefined {
    // Once finalized (or failed) the stream grows no more: its average stays what it was at the end.
    const elapsedMs = Math.min(atMs, this.#endedAtMs ?? Infinity) - this.startedAtMs;
    return elapsedMs >= 1_000 ? (this.readableBytes * 8_000) / elapsedMs : undefined;
  }

  /** Bytes the stream may have by `atMs` under its average-bitrate quota. */
  allowedBytes(atMs = this.#now()): number {
    return allowedStreamBytes(this.#o.limits, atMs - this.startedAtMs);
  }

  /**
   * Take chunk `seq` at byte `offset`. Decides synchronously (so sessions answer in
   * order); the write itself is queued behind earlier ones.
   */
  append(seq: number, offset: number, payload: Uint8Array): AppendResult {
    if (this.#state !== 'open') {
      const error = this.#failure ?? new IngestError(IngestErrorCode.badRequest, `stream ${this.streamId} is ${this.#state}`);
      return { kind: 'refused', error, fatal: this.#state === 'failed' };
    }
    if (seq < this.#nextSeq) return { kind: 'duplicate', durable: seq <= this.#durableSeq };
    if (seq > this.#nextSeq) return { kind: 'gap', expected: this.#nextSeq };
    if (offset !== this.#bytes) {
      return {
        kind: 'refused',
        error: new IngestError(IngestErrorCode.badRequest, `chunk ${seq} claims byte ${offset}, the stream is at ${this.#bytes}`),
        fatal: false,
      };
    }
    const after = this.#bytes + payload.byteLength;
    const overQuota = this.#quotaRefusal(after);
    if (overQuota) return this.#quota(overQuota);
    const bad = this.#o.headCheck?.check(payload);
    if (bad !== undefined) {
      const error = new IngestError(IngestErrorCode.unsupportedMedia, bad);
      this.#fail(error, 'remove');
      return { kind: 'refused', error, fatal: true };
    }
    this.index.push(payload);
    const nonsense = this.index.refusal;
    if (nonsense !== undefined) {
      // Indexing such a stream costs a server more per byte than media does, and it plays nothing: keep none of it.
      const error = new IngestError(IngestErrorCode.unsupportedMedia, `stream ${this.streamId} is not media: ${nonsense}`);
      this.#fail(error, 'remove');
      return { kind: 'refused', error, fatal: true };
    }
    // Its Clusters are counted now: with their charge the chunk may be past the quota after all.
    const charged = this.#quotaRefusal(after);
    if (charged) return this.#quota(charged);
    const backlog = this.#backlogRefusal(after);
    if (backlog) return this.#quota(backlog);
    this.#nextSeq = seq + 1;
    this.#bytes = after;
    this.#hash.update(payload);
    this.#tail.accept(seq, offset, payload);
    this.emit('grew', this.#bytes);
    this.#edge.wakeAll();
    return { kind: 'stored' };
  }

  /** Read up to `length` bytes at `offset` as they are now (a short read at the end). */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(this.readableBytes, offset + length);
    if (offset >= end) return new Uint8Array(0);
    if (offset >= this.#tail.start) return this.#tail.read(offset, end);
    const file = this.#file;
    if (!file) return new Uint8Array(0);
    // Below the tail everything is on disk already; stop where the tail begins.
    const buf = new Uint8Array(Math.min(end, this.#tail.start) - offset);
    const filled = await readFully(file, buf, offset);
    return filled === buf.byteLength ? buf : buf.subarray(0, filled);
  }

  /** Write everything appended so far (one write), fsync it and announce it durable. Safe to call any time. */
  flush(): Promise<void> {
    if (this.#syncing) return this.#syncing;
    this.#chain = this.#chain.then(() => this.#writePending());
    const run = this.#chain.then(() => this.#sync());
    this.#syncing = run.finally(() => {
      this.#syncing = null;
    });
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    if (this.#diskSeq <= this.#durableSeq || !this.#file || this.#state === 'failed') return;
    const seq = this.#diskSeq;
    const bytes = this.#diskBytes;
    try {
      await this.#file.sync();
    } catch (err) {
      this.#fail(ioError(err, 'fsync'), 'remove');
      return;
    }
    if (await this.#leftItsPath()) return;
    if ((this.#state as WriterState) === 'failed' || seq <= this.#durableSeq) return;
    this.#durableSeq = seq;
    this.#durableBytes = bytes;
    this.emit('durable', seq, bytes);
  }

  /**
   * The `.part` no longer at its path (its storage directory renamed or removed, the file moved or replaced): its bytes
   * go on to a file no one will find, and the rename at the end fails. Noticed at each flush that synced something, so
   * the publisher is told while the broadcast is live (and asks for a replacement while its resend buffer holds the
   * stream) rather than at the end. The copy is abandoned, not removed: whatever the path names now is not ours.
   */
  async #leftItsPath(): Promise<boolean> {
    const ours = this.#file?.identity;
    if (ours === undefined || !this.#io.identityAt || this.#state !== 'open') return false;
    let now: string | undefined;
    try {
      now = await this.#io.identityAt(this.partPath);
    } catch {
      return false; // cannot tell (EACCES on the path, say): the write and fsync went through, carry on
    }
    if (now === ours || (this.#state as WriterState) !== 'open') return false;
    this.#fail(
      new IngestError(
        IngestErrorCode.writeFailed,
        `${this.partPath} left its storage directory while being written (moved, removed or replaced)`,
      ),
      'abandon',
    );
    return true;
  }

  /**
   * Every chunk was sent: check `bytes` (and `sha256`), fsync, rename into the
   * catalog's name, fsync the directory. Rejects with `mismatch` (nothing is
   * finalized) or an I/O error (the partial copy is removed).
   */
  async end(bytes: number, sha256?: string): Promise<Finalized> {
    if (this.#state === 'finalized') return { bytes: this.#bytes, sha256: this.#sha256!, path: this.finalPath };
    if (this.#state !== 'open')
      throw this.#failure ?? new IngestError(IngestErrorCode.badRequest, `stream ${this.streamId} is already ending`);
    if (bytes !== this.#bytes) {
      throw new IngestError(IngestErrorCode.mismatch, `end says ${bytes} bytes but ${this.#bytes} were received; send the rest first`);
    }
    this.#state = 'ending';
    // A copy of the running hash: the stream may be reopened (reopen()) and go on from here.
    const digest = this.#hash.copy().digest('hex');
    if (sha256 !== undefined && sha256 !== digest) {
      const e = new IngestError(IngestErrorCode.mismatch, `sha256 of the received bytes is ${digest}, end says ${sha256}`);
      this.#fail(e, 'remove');
      throw e;
    }
    if (this.#o.headCheck && this.index.firstFrameEnd === undefined && !this.index.stopped) {
      // A WebM that ended with its Tracks and no frame plays nothing and has no picture: keep nothing.
      const e = new IngestError(IngestErrorCode.unsupportedMedia, `stream ${this.streamId} ended without a media frame: nothing is stored`);
      this.#fail(e, 'remove');
      throw e;
    }
    try {
      // A flush already running may cover only older chunks: repeat until the last one is durable.
      while (!this.#failure && this.#durableSeq < this.#nextSeq - 1) await this.flush();
      if (this.#failure) throw this.#failure;
      await renameDurably(this.#io, this.partPath, this.finalPath);
      this.#finalMark = await this.#io.markAt?.(this.finalPath).catch(() => undefined);
    } catch (err) {
      const e = err instanceof IngestError ? err : ioError(err, 'finalizing');
      this.#fail(e, 'remove');
      throw e;
    }
    clearInterval(this.#timer);
    await releasePart(this.partPath);
    this.#sha256 = digest;
    this.#state = 'finalized';
    this.#endedAtMs = this.#now();
    const info = { bytes: this.#bytes, sha256: digest, path: this.finalPath };
    this.emit('finalized', info);
    this.#edge.wakeAll();
    return info;
  }

  /**
   * Finalized moments ago by this writer and still held (its publisher reconnects, as OBS does after a lost connection:
   * DELETE, then a new POST): the file goes back to `<id>.webm.part`, open for the stream to go on where it ended (its
   * chunk numbers, bytes, hash and Cluster index are kept). Refused with `cannot-resume` when the file at the final
   * path is no longer the one written here (moved, replaced) or another process claimed the `.part`.
   */
  async reopen(): Promise<void> {
    const refuse = (why: string) => new IngestError(IngestErrorCode.cannotResume, `stream ${this.streamId} cannot be reopened: ${why}`);
    if (this.#state !== 'finalized' || !this.#file) throw refuse(`its copy is ${this.#file ? this.#state : 'closed'}`);
    const ours = this.#file.identity;
    if (ours !== undefined && this.#io.identityAt && (await this.#io.identityAt(this.finalPath).catch(() => undefined)) !== ours)
      throw refuse(`${this.finalPath} is no longer the file written here`);
    // Truncated or rewritten in place (same inode): the stream's bytes, hash and index are no longer the file's.
    if (
      this.#io.markAt &&
      (this.#finalMark === undefined || (await this.#io.markAt(this.finalPath).catch(() => undefined)) !== this.#finalMark)
    )
      throw refuse(`${this.finalPath} was changed since it was finalized here (truncated or rewritten in place)`);
    let claimed: boolean;
    try {
      claimed = await claimPart(this.partPath);
    } catch (err) {
      throw ioError(err, `locking ${this.partPath}`);
    }
    if (!claimed) throw refuse(`another process on this storage is writing ${this.streamId}`);
    try {
      await renameDurably(this.#io, this.finalPath, this.partPath);
    } catch (err) {
      await releasePart(this.partPath);
      throw ioError(err, `reopening ${this.finalPath}`);
    }
    this.#state = 'open';
    this.#sha256 = undefined;
    this.#finalMark = undefined;
    this.#endedAtMs = undefined;
    this.#startTimer();
  }

  /**
   * The broadcaster is gone without an `end`: keep what forms whole blocks (ClusterIndex.latestCut) as a
   * finished (shorter) asset, or remove the partial copy when there is none.
   */
  async abandon(reason: string): Promise<void> {
    if (this.#state !== 'open') return;
    this.#fail(new IngestError(IngestErrorCode.timeout, reason), 'salvage');
    await this.#chain;
  }

  /**
   * Releases the file handle, timers and the lock (idempotent); the file itself stays as
   * it is. Waits for queued work (a flush, a removal or salvage after a failure) at most
   * `deadlineMs`, so a stalled disk cannot hold a shutdown.
   */
  async close(deadlineMs = Infinity): Promise<void> {
    clearInterval(this.#timer);
    const queued = this.#chain.catch(() => undefined);
    if (Number.isFinite(deadlineMs)) await within(queued, Math.max(0, deadlineMs));
    else await queued;
    const file = this.#file;
    this.#file = undefined;
    if (!file) return;
    await file.close().catch(() => undefined);
    await releasePart(this.partPath);
  }

  // ---- internals ---------------------------------------------------------------

  /** `bytes` with the Clusters indexed so far against the stream's quotas now. */
  #quotaRefusal(bytes: number): IngestError | undefined {
    return quotaRefusal(this.#o.limits, bytes, this.index.clusterCount, this.#now() - this.startedAtMs);
  }

  /**
   * A stream that would reach `after` bytes more than maxBacklogBytes past its newest Cluster start (or past byte 0
   * before its first): one Cluster never closed, a sized one declared that long, or bytes past where the index stopped
   * on malformed input. A late joiner is handed everything from a Cluster start at once, so this is what bounds it.
   */
  #backlogRefusal(after: number): IngestError | undefined {
    const from = this.index.latestCluster() ?? 0;
    const max = this.maxBacklogBytes;
    if (after - from <= max) return undefined;
    const what = this.index.stopped ? 'malformed WebM' : this.index.initBytes === undefined ? 'a head without a Cluster' : 'one Cluster';
    return new IngestError(
      IngestErrorCode.unsupportedMedia,
      `stream ${this.streamId} has ${after - from} bytes of ${what} since byte ${from}, more than ${max}: start a Cluster at least every ${max} bytes (keyframes more often)`,
    );
  }

  #quota(error: IngestError): AppendResult {
    this.#fail(error, 'salvage');
    return { kind: 'refused', error, fatal: true };
  }

  /** Writes every pending chunk as one block at the end of the file; the block joins the tail. */
  async #writePending(): Promise<void> {
    // A salvage keeps every accepted chunk (so copies on different servers are cut alike); a removal none.
    if (!this.#tail.hasPending || !this.#file || this.#writeFailed || (this.#state === 'failed' && this.#failMode !== 'salvage')) return;
    // In the tail before the write starts: readers of these bytes find them in memory meanwhile.
    const block = this.#tail.takePending();
    try {
      await writeFully(this.#file, block.bytes, block.offset);
    } catch (err) {
      this.#writeFailed = true; // nothing after a hole may be written, and a salvage becomes a removal
      this.#fail(ioError(err, 'writing'), 'remove');
      return;
    }
    this.#diskSeq = block.lastSeq;
    this.#diskBytes = block.offset + block.bytes.byteLength;
    this.#tail.trim(this.#diskBytes);
  }

  /** One failure path: stop, then remove or salvage the partial copy (or leave it, `abandon`) in the background of `#chain`. */
  #fail(error: IngestError, what: 'remove' | 'salvage' | 'abandon'): void {
    if (this.#state === 'failed' || this.#state === 'finalized') return;
    this.#state = 'failed';
    this.#endedAtMs = this.#now();
    this.#failure = error;
    this.#failMode = what;
    clearInterval(this.#timer);
    this.#chain = this.#chain.then(() => (what === 'salvage' ? this.#salvage() : what === 'remove' ? this.#remove() : undefined));
    this.emit('failed', error);
    this.#edge.wakeAll();
  }

  async #remove(): Promise<void> {
    await this.#io.unlink(this.partPath).catch(() => undefined);
    await releasePart(this.partPath);
  }

  /** Cut after the last whole block on disk (see ClusterIndex.latestCut) and finalize that, when it holds a frame. */
  async #salvage(): Promise<void> {
    await this.#writePending();
    const cut = this.index.latestCut(this.#diskBytes);
    // A cut before the first frame's end keeps no media (a head, or Clusters without frames): nothing to catalog.
    const frame = this.index.firstFrameEnd;
    if (cut === undefined || frame === undefined || cut < frame || !this.#file || this.#writeFailed) return this.#remove();
    try {
      await this.#file.truncate(cut);
      await this.#file.sync();
      await renameDurably(this.#io, this.partPath, this.finalPath);
      this.#salvaged = cut;
    } catch {
      await this.#remove();
      return;
    }
    await releasePart(this.partPath);
  }
}
