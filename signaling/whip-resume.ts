// Whether a WHIP POST resumes a broadcast whose primary died: the resume windows this hub holds, and with several hubs
// each broadcast's record in Redis and the hub that holds it.
import type { PlaceOn } from './core/publish-router.js';
import type { WhipStreamRecord } from './redis/shared-whip.js';
import type { ResourceForward } from './resource-forward.js';
import { isKeyOf } from './stream-owners.js';
import type { WhipHost } from './whip-host.js';

/**
 * After its primary dies, a broadcast may be resumed (re-POST, same stream key) this
 * long, ms: the servers' abandon timeout (ingest's ABANDON_AFTER_MS), after which the
 * backup finalizes its copy and the id is taken.
 */
export const WHIP_RESUME_WINDOW_MS = 30_000;
/**
 * How long the hub holding a broadcast has to answer a preflight before a re-POST is relayed to it, ms (a live hub
 * answers in milliseconds, through Redis): a hub that died moments ago is still listed for one liveness timeout, and
 * a POST relayed to it would wait out WHIP_RELAYED_POST_MS (whip-routes.ts) for nothing.
 */
const HUB_PING_MS = 2_000;

/**
 * A broadcast whose primary died: the same stream key may resume it on the server holding its copy. Or one that ended
 * by DELETE, finalized on `holders`: the same stream key may carry it on there (OBS sends DELETE, then a new POST,
 * when it reconnects after a lost connection).
 */
interface Resumable {
  tokenHash: Buffer;
  secret: string;
  untilMs: number;
  holders?: readonly string[];
}

/** What a POST for a stream id is: relayed to the hub holding its broadcast, refused (409), a resume, or a new one. */
export type ResumeDecision =
  | { kind: 'relay'; hub: string }
  | { kind: 'refuse'; reason: string }
  | { kind: 'resume'; on: PlaceOn; secret: string }
  | { kind: 'fresh' };

/** A broadcast relayed here, as its resume needs it. */
export interface ResumableBroadcast {
  id: string;
  streamId: string;
  primary: string;
  /** The digest of the stream key that started it (`keyDigest`). */
  tokenHash: Buffer;
  secret: string;
}

export class WhipResumes {
  readonly #host: WhipHost;
  readonly #max: number;
  /** Whether this hub relays a broadcast of the stream id now. */
  readonly #onAir: (streamId: string) => boolean;
  /** By stream id; at most `max` (the oldest goes first). */
  readonly #windows = new Map<string, Resumable>();

  constructor(host: WhipHost, max: number, onAir: (streamId: string) => boolean) {
    this.#host = host;
    this.#max = max;
    this.#onAir = onAir;
  }

  /**
   * The answer to a POST of `token` for `streamId` that no broadcast on air here refused. `up`: the servers in the
   * table when the POST came; `relayed`: another hub relayed it here (it is not relayed on).
   */
  async decide(streamId: string, token: string, up: Set<string>, relayed: boolean): Promise<ResumeDecision> {
    // Several hubs: a re-POST after the primary died may reach another hub than the one that took the broadcast.
    // It is relayed to the hub that holds the broadcast, which answers it as if it had come there (and never on again).
    const elsewhere = await this.#elsewhere(streamId);
    const forward = this.#host.forward;
    if (elsewhere && !relayed && forward && elsewhere.hub !== this.#host.hubId && (await answers(forward, elsewhere.hub, streamId)))
      return { kind: 'relay', hub: elsewhere.hub };
    // Its hub died (or restarted) with its broadcasts: the window is the record's (it expires in Redis); on air while
    // its primary is up.
    if (elsewhere && up.has(elsewhere.primary))
      return { kind: 'refuse', reason: `stream ${streamId} is on air (only the stream key that started it may resume it)` };
    const window = elsewhere && { tokenHash: Buffer.from(elsewhere.tokenHash, 'hex'), secret: elsewhere.secret, untilMs: Infinity };
    const resume = this.#resumeOf(streamId, token, window, await this.#finishedElsewhere(streamId));
    if (typeof resume === 'string') return { kind: 'refuse', reason: resume };
    return resume ? { kind: 'resume', ...resume } : { kind: 'fresh' };
  }

  /** A broadcast started here (or was resumed here): its record in Redis names this hub; a window it resumed is spent. */
  started(b: ResumableBroadcast, resumed: boolean): void {
    if (resumed) this.#windows.delete(b.streamId);
    this.#host.streams
      ?.start(b.streamId, this.#record(b))
      .catch((err: Error) => this.#host.log.warn({ stream: b.streamId, err: err.message }, 'WHIP record not written to Redis'));
  }

  #record(b: ResumableBroadcast): WhipStreamRecord {
    return { hub: this.#host.hubId ?? '', resource: b.id, primary: b.primary, tokenHash: b.tokenHash.toString('hex'), secret: b.secret };
  }

  /**
   * A broadcast relayed here ended. `primaryGone`: its primary died, and its stream key may resume it for
   * WHIP_RESUME_WINDOW_MS (here, and through any hub from its record); else it is over, record and all.
   */
  ended(b: ResumableBroadcast, primaryGone: boolean): void {
    const shared = this.#host.streams;
    if (shared)
      void (primaryGone ? shared.keep(b.streamId, b.id, WHIP_RESUME_WINDOW_MS) : shared.stop(b.streamId, b.id)).catch(() => undefined);
    if (primaryGone) this.#openWindow(b);
  }

  /**
   * A broadcast relayed here ended by DELETE with its recording finalized on `stored`: for WHIP_RESUME_WINDOW_MS the
   * stream key that started it may carry it on there with a new POST (the recording is reopened and grows on).
   */
  finished(b: ResumableBroadcast, stored: readonly string[]): void {
    if (stored.length === 0) return;
    this.#host.streams
      ?.finish(b.streamId, this.#record(b), stored, WHIP_RESUME_WINDOW_MS)
      .catch((err: Error) => this.#host.log.warn({ stream: b.streamId, err: err.message }, 'WHIP window not written to Redis'));
    this.#openWindow(b, stored);
  }

  /** Opens `b`'s window for WHIP_RESUME_WINDOW_MS (newest last), dropping expired ones and the oldest past the bound. */
  #openWindow(b: ResumableBroadcast, holders?: readonly string[]): void {
    const now = Date.now();
    this.#windows.delete(b.streamId);
    this.#windows.set(b.streamId, {
      tokenHash: b.tokenHash,
      secret: b.secret,
      untilMs: now + WHIP_RESUME_WINDOW_MS,
      ...(holders && { holders }),
    });
    for (const [k, v] of this.#windows) if (this.#windows.size > this.#max || v.untilMs < now) this.#windows.delete(k);
  }

  /**
   * A WHIP relay starts a new WebM stream, so an unfinished copy of the id is only
   * continued as a resume: after its primary died, by the stream key that started it,
   * within WHIP_RESUME_WINDOW_MS. Anything else is refused (the reason) and the copy is
   * finalized once abandoned. Undefined: a fresh broadcast.
   */
  #resumeOf(
    streamId: string,
    token: string,
    shared?: Resumable,
    finished?: Resumable,
  ): { on: PlaceOn; secret: string } | string | undefined {
    if (this.#onAir(streamId)) return undefined;
    const unfinished = this.#host.liveCopies(streamId);
    if (unfinished.length === 0) return this.#carryOn(streamId, token, finished);
    const window = this.#windows.get(streamId);
    const held = window?.holders ? shared : (window ?? shared);
    const taken = `stream ${streamId} has an unfinished copy on ${unfinished.join(', ')}; it is finalized once abandoned, then the id is taken`;
    if (!held || held.untilMs < Date.now()) return taken;
    if (!isKeyOf(held.tokenHash, token)) return `${taken} (only the stream key that started it may resume it)`;
    return { on: { servers: [unfinished[0]!], reopen: false }, secret: held.secret };
  }

  /**
   * A POST of the stream key that ended `streamId` by DELETE moments ago: carried on where its recording is still
   * stored. Anything else (another key, the window over, the recording gone) is a new broadcast, refused while the id
   * is stored.
   */
  #carryOn(streamId: string, token: string, shared?: Resumable): { on: PlaceOn; secret: string } | undefined {
    const local = this.#windows.get(streamId);
    const held = local?.holders && local.untilMs >= Date.now() ? local : shared;
    if (!held?.holders || held.untilMs < Date.now() || !isKeyOf(held.tokenHash, token)) return undefined;
    const stored = new Set(this.#host.storedCopies(streamId));
    const servers = held.holders.filter((id) => stored.has(id));
    return servers.length === 0 ? undefined : { on: { servers, reopen: true }, secret: held.secret };
  }

  /**
   * Several hubs: the window to carry the id's finished broadcast on, from its record in Redis (the hub that took its
   * DELETE wrote it), when no copy of the id is unfinished and this hub holds no such window itself.
   */
  async #finishedElsewhere(streamId: string): Promise<Resumable | undefined> {
    const streams = this.#host.streams;
    const local = this.#windows.get(streamId);
    if (!streams || (local?.holders && local.untilMs >= Date.now()) || this.#onAir(streamId)) return undefined;
    if (this.#host.liveCopies(streamId).length > 0) return undefined;
    const r = await streams.get(streamId).catch(() => undefined);
    if (!r?.holders) return undefined;
    // The record expires in Redis at the window's end.
    return { tokenHash: Buffer.from(r.tokenHash, 'hex'), secret: r.secret, untilMs: Infinity, holders: r.holders.split(',') };
  }

  /**
   * Several hubs: the id's WHIP record in Redis, when nothing here knows of its broadcast but a copy of it is
   * unfinished — the broadcast was taken by another hub, which holds its resource or resume window (or died).
   */
  async #elsewhere(streamId: string): Promise<WhipStreamRecord | undefined> {
    const streams = this.#host.streams;
    const window = this.#windows.get(streamId);
    if (!streams || (window && window.untilMs >= Date.now()) || this.#onAir(streamId)) return undefined;
    if (this.#host.liveCopies(streamId).length === 0) return undefined;
    return streams.get(streamId).catch(() => undefined);
  }
}

/** Whether `hub` is alive: it answers a preflight of the stream's WHIP endpoint (an unlisted hub is answered 404 here). */
function answers(forward: ResourceForward, hub: string, streamId: string): Promise<boolean> {
  return forward(hub, 'whip', { method: 'OPTIONS', path: `/whip/${streamId}` }, HUB_PING_MS).then(
    (a) => a.status === 204,
    () => false,
  );
}
