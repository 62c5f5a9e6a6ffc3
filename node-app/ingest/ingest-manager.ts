// A media server's broadcasts: admits publish sessions and keeps one writer per stream they write (each stream's
// record is ingest-stream.ts), until it is finalized, fails or is abandoned.
import type { IngestLimits } from '../../signaling/protocol/ingest-frames.js';
import type { SessionOpen } from '../../signaling/protocol/messages.js';
import { ErrorCode, ackError, type Ack, type LiveInfo } from '../../signaling/protocol/types.js';
import { IngestError, IngestErrorCode } from './errors.js';
import { IngestSession } from './ingest-session.js';
import { LiveWriter } from './live-writer.js';
import { createLiveSource, type LiveSource } from './live-source.js';
import { continuationOf, type Continuation } from './continuation.js';
import { WebmHeadCheck } from './webm-head-check.js';
import { sameSecret } from '../../signaling/stream-owners.js';
import { ingestLimits, streamStartMs } from './ingest-limits.js';
import { IngestStream } from './ingest-stream.js';
import { sweepStaleParts, type StalePartOutcome } from './stale-parts.js';
import { writeSidecar, type Sidecar } from '../storage/sidecar.js';
import { attachRefusal } from './attach-check.js';
import { FinishedStreams } from './finished-streams.js';
import type { IngestManagerOptions } from './ingest-manager-options.js';

export type { IngestManagerOptions } from './ingest-manager-options.js';

/** Close reason of a session the hub ended (`session-close` from the hub). */
export const CLOSED_BY_HUB = 'closed-by-hub';

/** A stream whose publisher is gone (no session, no `end`) is salvaged after this long. */
export const ABANDON_AFTER_MS = 30_000;
/** On shutdown, accepted chunks get this long to reach the disk before handles are closed anyway. */
export const SHUTDOWN_FLUSH_MS = 3_000;

/** A publish session as the hub's `session-open` described it: the publisher's address, the stream secret, title and description, and the stream's start as the hub granted the id. */
interface OpenedSession {
  peer: string | undefined;
  secret: string;
  meta: Sidecar;
  hubStartMs: number | undefined;
}

export class IngestManager {
  readonly limits: IngestLimits;
  readonly #o: IngestManagerOptions;
  readonly #sessions = new Map<string, IngestSession>();
  #bytesIngested = 0;
  /** What the hub's `session-open` said of each publish session, kept while it is open (one entry per `#sessions` entry). */
  readonly #opened = new Map<string, OpenedSession>();
  readonly #streams = new Map<string, IngestStream>();
  /** Streams whose writer is being created: a second hello waits for the first. */
  readonly #creating = new Map<string, Promise<LiveWriter | IngestError>>();
  /** Streams finalized here moments ago (FinishedStreams): their publisher may carry them on. */
  readonly #finished: FinishedStreams<{ stream: IngestStream; letGo: () => Promise<void> }>;
  /** Finished streams being reopened: a second caller waits for the first. */
  readonly #reopening = new Map<string, Promise<IngestStream | IngestError>>();
  #closed = false;

  constructor(opts: IngestManagerOptions) {
    this.#o = opts;
    this.limits = opts.limits ?? ingestLimits();
    this.#finished = new FinishedStreams(opts.maxFinishedKept, opts.finishedKeptMs);
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Broadcast bytes received since start (for metrics). */
  get bytesIngested(): number {
    return this.#bytesIngested;
  }

  /** Salvages (or removes) the `.part` files a crash left in storage, sparing streams live here (stale-parts.ts). */
  async sweepStaleParts(): Promise<StalePartOutcome[]> {
    return sweepStaleParts(this.#o.store.root, (streamId) => this.#streams.has(streamId));
  }

  /** The hub routed a publish session here. Answers synchronously. */
  open(msg: SessionOpen): Ack {
    if (this.#closed) return ackError(ErrorCode.noCapacity, 'server is shutting down');
    if (!this.#o.enabled) return ackError(ErrorCode.badRequest, 'this server does not take broadcasts (no ingest role)');
    if (this.#o.hasCapacity && !this.#o.hasCapacity()) return ackError(ErrorCode.noCapacity, 'server is full');
    if (!this.#o.store.pathOf(msg.assetId)) return ackError(ErrorCode.badRequest, `invalid stream id ${msg.assetId}`);
    if (this.#sessions.has(msg.sessionId)) return ackError(ErrorCode.conflict, 'session exists');
    const secret = msg.streamSecret;
    if (typeof secret !== 'string' || secret.length === 0)
      return ackError(ErrorCode.badRequest, 'a publish session needs the stream secret');
    // A stream finalized here moments ago may be carried on by its own publisher (its chunks continue from its end).
    const reopening = this.#finished.get(msg.assetId);
    if (!this.#streams.has(msg.assetId) && this.#o.store.stat(msg.assetId) && !(reopening && sameSecret(reopening.stream.secret, secret))) {
      return ackError(ErrorCode.conflict, `an asset called ${msg.assetId} is already stored here`);
    }
    const existing = this.#streams.get(msg.assetId);
    if (existing && !sameSecret(existing.secret, secret))
      return ackError(ErrorCode.conflict, `stream ${msg.assetId} is being written here by another publisher`);
    const log = this.#o.log?.child?.({ session: msg.sessionId, stream: msg.assetId }) ?? this.#o.log;
    const session = new IngestSession({
      sessionId: msg.sessionId,
      streamId: msg.assetId,
      attach: (hello, s) => this.#attach(hello.streamId, hello.mime, hello.resumeFrom ?? 0, s),
      signal: (data) => this.#o.signal(msg.sessionId, data),
      wrtc: this.#o.wrtc,
      iceServers: this.#o.iceServers,
      log,
    });
    this.#sessions.set(msg.sessionId, session);
    this.#opened.set(msg.sessionId, {
      peer: msg.peer,
      secret,
      meta: {
        ...(msg.title ? { title: msg.title } : {}),
        ...(msg.description ? { description: msg.description } : {}),
      },
      hubStartMs: msg.startedAtMs,
    });
    session.on('received', (n) => (this.#bytesIngested += n));
    session.once('closed', (reason) => {
      this.#sessions.delete(msg.sessionId);
      this.#opened.delete(msg.sessionId);
      // The hub closed it and has forgotten it already: telling it back would only be refused.
      if (reason !== CLOSED_BY_HUB) this.#o.sessionClosed(msg.sessionId);
      const s = this.#streams.get(msg.assetId);
      if (s?.session === session) {
        s.session = undefined;
        // A flooding publisher's copy is cut now, not after the abandon timeout: its memory goes with it.
        if (reason === IngestErrorCode.tooManyChunks) void s.writer.abandon('the publisher flooded the channel');
        // A copy that took no chunk holds nothing to resume (a new copy starts at 0 alike): it goes now, so the
        // id is free at once rather than held for ABANDON_AFTER_MS under a publisher who may not come back.
        else if (s.writer.nextSeq === 0) void s.writer.abandon('the publisher left before sending anything');
        if (!this.#closed) s.watchAbandon(this.#o.abandonAfterMs ?? ABANDON_AFTER_MS);
        this.#maybeDispose(msg.assetId);
      }
    });
    return { ok: true };
  }

  /** Routes a relayed signal; false when the session is not an ingest session here. */
  signal(sessionId: string, data: unknown): boolean {
    const s = this.#sessions.get(sessionId);
    s?.signal(data);
    return s !== undefined;
  }

  closeSession(sessionId: string): boolean {
    const s = this.#sessions.get(sessionId);
    s?.close(CLOSED_BY_HUB);
    return s !== undefined;
  }

  /**
   * A ByteSource for a viewer of a stream ingested here (live, or finalized and
   * still held open), or undefined when this server has no such stream.
   */
  liveSource(streamId: string, offset: number): LiveSource | undefined {
    const s = this.#streams.get(streamId);
    if (!s || s.writer.state === 'failed') return undefined;
    s.readers++;
    return createLiveSource(s.writer, {
      offset,
      onClose: () => {
        s.readers--;
        this.#maybeDispose(streamId);
      },
    });
  }

  /**
   * Where a resumed broadcast (WHIP re-POST) continues this server's unfinished copy of `streamId`, or its copy
   * finalized moments ago (reopened for the publisher holding `secret`).
   */
  async continuation(streamId: string, secret: string): Promise<Continuation | IngestError> {
    const here = this.#streams.get(streamId);
    const s = here && here.writer.state !== 'finalized' ? here : ((await this.#reopen(streamId, secret)) ?? here);
    if (s instanceof IngestError) return s;
    if (!s) return new IngestError(IngestErrorCode.cannotResume, `no unfinished copy of ${streamId} on this server`);
    return continuationOf(s.writer);
  }

  /**
   * Reads `length` bytes at `offset` of this server's copy of `streamId` (being written, or stored): a WHIP relay fills
   * a replacement entry server from it. Shorter when the copy is (or there is none).
   */
  async readCopy(streamId: string, offset: number, length: number): Promise<Uint8Array> {
    const s = this.#streams.get(streamId);
    if (s && s.writer.state !== 'failed') return s.writer.read(offset, length);
    return this.#o.store.stat(streamId) ? this.#o.store.read(streamId, offset, length) : new Uint8Array(0);
  }

  /** MIME type of a stream ingested here. */
  mimeOf(streamId: string): string | undefined {
    return (this.#streams.get(streamId) ?? this.#finished.get(streamId)?.stream)?.writer.mime;
  }

  /** The `live` entries of this server, for (re)registration. */
  liveInfo(): LiveInfo[] {
    return [...this.#streams.values()].filter((s) => s.writer.live).map((s) => s.info());
  }

  /**
   * Stops taking chunks (every session is closed, publishers told why), writes and
   * fsyncs what was accepted within `deadlineMs`, then releases the writers whatever
   * the disk does; `.part` files stay (unlocked, so a restart salvages them: stale-parts.ts).
   */
  async close(deadlineMs = SHUTDOWN_FLUSH_MS): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    void this.#finished.clear();
    for (const s of [...this.#sessions.values()]) s.fail(new IngestError(IngestErrorCode.shuttingDown, 'the server is shutting down'));
    for (const s of this.#streams.values()) s.stop();
    const writers = [...this.#streams.values()].map((s) => s.writer);
    for (const w of writers) if (w.state === 'open') void w.flush();
    await Promise.all(writers.map((w) => w.close(deadlineMs)));
    this.#streams.clear();
  }

  // ---- writers ----------------------------------------------------------------------

  async #attach(
    streamId: string,
    mime: string,
    resumeFrom: number,
    session: IngestSession,
  ): Promise<{ writer: LiveWriter; limits: IngestLimits } | IngestError> {
    const pending = this.#creating.get(streamId);
    if (pending) await pending;
    let s = this.#streams.get(streamId);
    if (s?.writer.state === 'failed') {
      // A failed copy (disk full, mismatch…) is gone; a new upload starts a new one.
      this.#dispose(streamId);
      s = undefined;
    }
    const opened = this.#opened.get(session.sessionId);
    const secret = opened?.secret ?? '';
    if (resumeFrom > 0 && (!s || s.writer.state === 'finalized')) {
      // Carrying on a stream finalized here moments ago (its publisher reconnected after its end).
      const reopened = await this.#reopen(streamId, secret);
      if (reopened instanceof IngestError) return reopened;
      s = reopened ?? s;
    }
    const refusal = attachRefusal(
      streamId,
      s && { secret: s.secret, state: s.writer.state, nextSeq: s.writer.nextSeq },
      secret,
      resumeFrom,
    );
    if (refusal) return refusal;
    if (!s) {
      const created = this.#create(streamId, mime, secret, opened?.meta ?? {}, opened?.hubStartMs);
      this.#creating.set(streamId, created);
      const w = await created.finally(() => this.#creating.delete(streamId));
      if (w instanceof IngestError) return w;
      s = this.#streams.get(streamId)!;
    }
    if ((session.state as string) === 'closed') return new IngestError(IngestErrorCode.badRequest, 'session closed');
    s.attach(session, this.#opened.get(session.sessionId)?.peer);
    return { writer: s.writer, limits: this.limits };
  }

  async #create(
    streamId: string,
    mime: string,
    secret: string,
    meta: Sidecar,
    hubStart: number | undefined,
  ): Promise<LiveWriter | IngestError> {
    const finalPath = this.#o.store.pathOf(streamId);
    if (!finalPath) return new IngestError(IngestErrorCode.badRequest, `invalid stream id ${streamId}`);
    if (this.#o.store.stat(streamId))
      return new IngestError(IngestErrorCode.conflict, `an asset called ${streamId} is already stored here`);
    // Its recording was removed since it ended here: the held writer goes (its lock would be the new copy's).
    await this.#finished.letGo(streamId);
    // Counted from the stream's start, not this copy's: a replacement takes the publisher's resend from byte 0.
    const startedAtMs = streamStartMs(this.#o.knownStart?.(streamId), hubStart, Date.now());
    let writer: LiveWriter;
    try {
      writer = await LiveWriter.create({
        streamId,
        finalPath,
        mime,
        limits: this.limits,
        startedAtMs,
        fsyncIntervalMs: this.#o.fsyncIntervalMs,
        io: this.#o.io,
        headCheck: new WebmHeadCheck(),
      });
    } catch (err) {
      return err instanceof IngestError ? err : new IngestError(IngestErrorCode.writeFailed, (err as Error).message);
    }
    if (meta.title || meta.description) {
      // Beside the recording from the start: when it is finalized, the storage scan finds its title.
      const sidecar = this.#o.store.sidecarPathOf(streamId)!;
      await writeSidecar(sidecar, meta).catch((err: Error) =>
        this.#o.log?.warn({ stream: streamId, err: err.message }, 'could not write the title sidecar'),
      );
    }
    writer.on('grew', () => {
      const s = this.#streams.get(streamId);
      if (s?.writer === writer) s.grew();
    });
    this.#track(streamId, writer, secret, meta, undefined);
    return writer;
  }

  /** Holds `writer` as the stream `streamId` written here: reports it live and follows its end. */
  #track(streamId: string, writer: LiveWriter, secret: string, meta: Sidecar, poster: string | undefined): IngestStream {
    const s: IngestStream = new IngestStream({
      writer,
      secret,
      meta,
      current: () => this.#streams.get(streamId) === s,
      report: (deltas) => this.#o.report(deltas),
      poster: this.#o.poster,
    });
    s.poster = poster;
    this.#streams.set(streamId, s);
    writer.once('finalized', (info) => {
      if (this.#streams.get(streamId) !== s) return;
      s.reporter.stop();
      this.#o.log?.info({ stream: streamId, bytes: info.bytes, sha256: info.sha256 }, 'stream finalized');
      // Catalog first, then drop the live entry: viewers always find a holder.
      void this.#o.finalized(streamId).finally(() => {
        // Not when it was carried on meanwhile (reopened: live again, as another stream here).
        if (!this.#carriedOn(streamId, s)) this.#o.report([{ type: 'live-remove', assetId: streamId }]);
        this.#maybeDispose(streamId);
      });
    });
    writer.once('failed', (error) => {
      if (this.#streams.get(streamId) !== s) return;
      s.reporter.stop();
      this.#o.log?.warn({ stream: streamId, code: error.code, err: error.message }, 'stream failed on this server');
      if (!writer.keepsCopy) this.#o.dropPoster?.(streamId);
      // A salvaged (quota, abandoned) copy is finalized under its name: the catalog sees it, then the live entry goes,
      // as on the normal end — never a moment when the table holds the id neither live nor stored here.
      setTimeout(
        () =>
          void this.#o.finalized(streamId).finally(() => {
            if (!this.#carriedOn(streamId, s)) this.#o.report([{ type: 'live-remove', assetId: streamId }]);
            this.#maybeDispose(streamId);
          }),
        50,
      ).unref?.();
    });
    s.reporter.now();
    return s;
  }

  /** `s` ended, and its stream was reopened since (another stream of the id is held here now). */
  #carriedOn(streamId: string, s: IngestStream): boolean {
    const now = this.#streams.get(streamId);
    return now !== undefined && now !== s;
  }

  /** A poster of a live stream here was made: its `live` entry says so at once. */
  posterMade(streamId: string, token: string): void {
    const s = this.#streams.get(streamId);
    if (!s || !s.writer.live) return;
    s.poster = token;
    s.reporter.now();
  }

  /** A live stream is being written here (and has not failed). */
  writing(streamId: string): boolean {
    const s = this.#streams.get(streamId);
    return s !== undefined && s.writer.state !== 'failed';
  }

  /** The version token of a live stream's poster, if one was made here. */
  posterOf(streamId: string): string | undefined {
    return this.#streams.get(streamId)?.poster;
  }

  #maybeDispose(streamId: string): void {
    const s = this.#streams.get(streamId);
    if (!s || s.writer.live || s.session || s.readers > 0) return;
    this.#dispose(streamId);
  }

  #dispose(streamId: string): void {
    const s = this.#streams.get(streamId);
    if (!s) return;
    s.stop();
    this.#streams.delete(streamId);
    // Finalized: held open a while, so its publisher may carry it on (#reopen).
    if (s.writer.state === 'finalized' && !this.#closed) this.#finished.hold(streamId, { stream: s, letGo: () => s.writer.close() });
    else void s.writer.close();
  }

  /**
   * Reopens the stream finalized here moments ago for its publisher (`secret`): its file is the live `.part` again, it
   * is reported live, and the catalog lets the recording go. Undefined when no such stream is held here.
   */
  #reopen(streamId: string, secret: string): Promise<IngestStream | IngestError | undefined> {
    const pending = this.#reopening.get(streamId);
    if (pending) return pending;
    // Still here (a viewer reads it to its end), or held after it was let go.
    const here = this.#streams.get(streamId);
    const held = here?.writer.state === 'finalized' ? here : here ? undefined : this.#finished.get(streamId)?.stream;
    if (!held) return Promise.resolve(undefined);
    if (!sameSecret(held.secret, secret))
      return Promise.resolve(new IngestError(IngestErrorCode.notOwner, `stream ${streamId} was written here by another publisher`));
    if (held !== here) this.#finished.take(streamId);
    const run = (async (): Promise<IngestStream | IngestError> => {
      const { writer } = held;
      try {
        await writer.reopen();
      } catch (err) {
        if (held !== here) void writer.close();
        return err instanceof IngestError ? err : new IngestError(IngestErrorCode.writeFailed, (err as Error).message);
      }
      this.#o.log?.info({ stream: streamId, bytes: writer.bytes }, 'stream reopened: its publisher carries it on');
      const s = this.#track(streamId, writer, held.secret, held.meta, held.poster);
      // Until its publisher's upload attaches: a carry-on whose relay never comes (its offer refused) is abandoned —
      // finalized again, whole — rather than left live for ever.
      if (!this.#closed) s.watchAbandon(this.#o.abandonAfterMs ?? ABANDON_AFTER_MS);
      // Live again first (reported by #track), then the recording leaves the catalog: viewers always find a holder.
      void this.#o.reopened?.(streamId);
      return s;
    })();
    this.#reopening.set(streamId, run);
    void run.finally(() => this.#reopening.delete(streamId));
    return run;
  }
}
