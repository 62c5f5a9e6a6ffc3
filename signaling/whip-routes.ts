// WHIP ingest (RFC 9725) on the hub: POST /whip/<id> places the broadcast like `publish` and relays the offer to the primary.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ackError, ErrorCode, parse, type Ack, type PublishReply, type PublishRequest } from './protocol/index.js';
import { fail, failureReason, linkHeaders, statusFor } from './sdp-http.js';
import { ASSET_ID_PATTERN, ASSET_ID_RULE } from './protocol/ids.js';
import {
  WHIP_IDLE_TIMEOUT_MS,
  whipLeaveSchema,
  whipReplaceSchema,
  whipSignalSchema,
  type WhipAdoptReply,
  type WhipEndReply,
  type WhipOffer,
} from './protocol/whip.js';
import { answerHere, mintResourceId, relayedElsewhere, relayTo, type ForwardedAnswer, type ResourceRequest } from './resource-forward.js';
import { isKeyOf, keyDigest } from './stream-owners.js';
import type { WhipHost } from './whip-host.js';
import { bearer, readWhipPost } from './whip-request.js';
import { WHIP_RESUME_WINDOW_MS, WhipResumes } from './whip-resume.js';

/** WHIP broadcasts one hub relays at once; more are refused with 503. */
export const MAX_WHIP_RESOURCES = 1_000;
/** How long the primary may take to answer an offer (ICE gathering included), ms. */
export const WHIP_OFFER_TIMEOUT_MS = 10_000;
/** How long a DELETE waits for both copies to be finalized, ms (the relay's own end timeout is 60 s). */
export const WHIP_END_TIMEOUT_MS = 70_000;
/**
 * A primary the hub removed (missed heartbeats) may only have looked dead — a stalled or
 * loaded process — and register again with its publisher's media still flowing to it:
 * its WHIP resources are kept this long, ms, before they end as `primary-gone`. A re-POST
 * meanwhile ends them at once (the publisher lost its connection: the primary did die).
 */
export const WHIP_PRIMARY_AWAY_MS = 10_000;
/** What a re-POST relayed to the hub holding its broadcast may take there: the placement and the offer, ms. */
const WHIP_RELAYED_POST_MS = 2 * WHIP_OFFER_TIMEOUT_MS;
/** How often a DELETE waiting for an away primary looks whether it is back, ms. */
const PRIMARY_POLL_MS = 100;
/**
 * How long a DELETE's 200 waits, at most, for this hub's table to list the recording stored and no copy of it live,
 * ms (each server reports both moments after its end: ≈ 40 ms measured on an idle pair), polled every
 * SETTLE_POLL_MS: a POST sent at once after the 200 then finds the recording to carry on.
 */
const DELETE_SETTLE_MS = 2_000;
const SETTLE_POLL_MS = 20;
/** The hub's pseudo-client ids for WHIP broadcasts start with this (socket.io ids never contain ':'). */
const CLIENT_PREFIX = 'whip:';
/**
 * A DELETE of a resource this hub does not know (it restarted since the POST) asks at most this many servers holding a
 * live copy of the stream which of them relays it (a broadcast has two copies; a few more while one is replaced).
 */
export const MAX_ADOPT_ASKS = 4;
const WHIP_ADOPT_TIMEOUT_MS = 5_000;

interface Resource {
  id: string;
  streamId: string;
  clientId: string;
  primary: string;
  /** The process of `primary` that relays the broadcast. */
  primaryInstance?: string;
  /** The digest of the bearer token that created it (`keyDigest`): DELETE must carry the same one. */
  tokenHash: Buffer;
  /**
   * What a replacement entry server is asked with (`whip-replace`), as a browser publisher asks again: the stream key
   * (held here only, for the broadcast's life), the place and the address of the POST.
   */
  again?: { streamKey: string; location: PublishRequest['location']; ip: string | null };
  /** The hub's proof of ownership of the stream id, kept so a re-POST can resume it. */
  secret: string;
  ending: boolean;
  /** Set while the primary is out of the table: ends the resource unless the primary is back by then. */
  awayTimer?: ReturnType<typeof setTimeout>;
  /** The servers whose uploads the relay gave up so far (their copies finalized or failed): at most its two copies. */
  left?: string[];
}

export interface WhipRoutesOptions {
  /** Default MAX_WHIP_RESOURCES. */
  maxResources?: number;
  /** Default WHIP_PRIMARY_AWAY_MS. */
  primaryAwayMs?: number;
}

/**
 * CORS for publishers on other origins (a WHIP client is often a web page). The stream key travels as a
 * Bearer header, never a cookie, so allowing any origin lends a page nothing it does not already hold.
 */
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'location, link, x-baton-primary, x-baton-backup, x-baton-resumed',
};
const PREFLIGHT = {
  'access-control-allow-methods': 'POST, DELETE, OPTIONS',
  'access-control-allow-headers': 'content-type, authorization',
};

export class WhipRoutes {
  readonly #host: WhipHost;
  readonly #maxResources: number;
  readonly #primaryAwayMs: number;
  /** POSTs past the bound's check, waiting for their placement. */
  #placing = 0;
  readonly #resources = new Map<string, Resource>();
  /** Stream ids whose POST is being answered (one at a time; an entry lives as long as its request). */
  readonly #answering = new Set<string>();
  /** Whether a POST resumes a broadcast whose primary died: the windows held here (at most maxResources), the records in Redis. */
  readonly #resumes: WhipResumes;

  constructor(host: WhipHost, opts: WhipRoutesOptions = {}) {
    this.#host = host;
    this.#maxResources = opts.maxResources ?? MAX_WHIP_RESOURCES;
    this.#primaryAwayMs = opts.primaryAwayMs ?? WHIP_PRIMARY_AWAY_MS;
    this.#resumes = new WhipResumes(host, this.#maxResources, (streamId) => this.#onAir(streamId) !== undefined);
  }

  get size(): number {
    return this.#resources.size;
  }

  /** What the hub lent (the WHEP routes borrow its request, address and ICE parts). */
  get host(): WhipHost {
    return this.#host;
  }

  /** Handles `/whip/…` requests; `relayed`: another hub relayed it here (several hubs), not to be relayed on. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, relayed = false): void {
    const parts = path.split('/').slice(2);
    const streamId = parts[0] ?? '';
    for (const [name, value] of Object.entries(CORS)) res.setHeader(name, value);
    // A publisher (OBS) shows little of a refusal: the hub's log says why each POST was refused.
    if (req.method === 'POST')
      res.once('finish', () => {
        if (res.statusCode >= 400)
          this.#host.log.info(
            { stream: streamId.slice(0, 64), status: res.statusCode, reason: failureReason(res), ip: this.#host.clientIp(req), relayed },
            'WHIP POST refused',
          );
      });
    if (!ASSET_ID_PATTERN.test(streamId) || parts.length > 2)
      return fail(res, 404, `no such WHIP endpoint: use /whip/<stream id> (${ASSET_ID_RULE})`);
    if (parts.length === 1) {
      if (req.method === 'OPTIONS') return void res.writeHead(204, { allow: 'POST, OPTIONS', ...PREFLIGHT, ...this.#linkHeaders() }).end();
      if (req.method !== 'POST') return fail(res, 405, 'POST an SDP offer here', { allow: 'POST, OPTIONS' });
      return void this.#post(req, res, streamId, relayed).catch((err: Error) => fail(res, 500, `WHIP offer failed: ${err.message}`));
    }
    const r = this.#resources.get(parts[1]!);
    if (!r && relayedElsewhere(this.#host, 'whip', parts[1]!, req, res, path, WHIP_END_TIMEOUT_MS)) return;
    if (!r && req.method === 'DELETE')
      return void this.#adopt(req, res, streamId, parts[1]!).catch((err: Error) => fail(res, 500, `WHIP end failed: ${err.message}`));
    if (!r || r.streamId !== streamId) return fail(res, 404, 'no such WHIP resource (ended, or never created)');
    if (req.method === 'OPTIONS') return void res.writeHead(204, { allow: 'DELETE, OPTIONS', ...PREFLIGHT }).end();
    // Trickle ICE and ICE restarts (PATCH) are not supported: the offer carries every candidate.
    if (req.method !== 'DELETE') return fail(res, 405, 'only DELETE ends this resource', { allow: 'DELETE' });
    if (!isKeyOf(r.tokenHash, bearer(req))) return fail(res, 401, 'DELETE needs the Bearer token the broadcast was started with');
    void this.#delete(res, r).catch((err: Error) => fail(res, 500, `WHIP end failed: ${err.message}`));
  }

  /** A resource request another hub relayed here (several hubs): answered as if it had come here. */
  answerForwarded(r: ResourceRequest): Promise<ForwardedAnswer> {
    return answerHere((req, res) => this.handle(req, res, new URL(r.path, 'http://hub').pathname, true), r);
  }

  /** Delivers a hub → client event when `clientId` is a WHIP resource's (to its primary server). True if it was one. */
  deliver(clientId: string, event: 'signal' | 'session-close', msg: { sessionId: string; data?: unknown; reason?: string }): boolean {
    if (!clientId.startsWith(CLIENT_PREFIX)) return false;
    const r = this.#resources.get(clientId.slice(CLIENT_PREFIX.length));
    if (!r) return true;
    if (event === 'signal') this.#host.emit(r.primary, 'whip-signal', { resourceId: r.id, sessionId: msg.sessionId, data: msg.data });
    else if (
      !this.#host.emit(r.primary, 'whip-session-close', { resourceId: r.id, sessionId: msg.sessionId, reason: msg.reason ?? 'closed' })
    ) {
      // The primary is out of the table. If it died, the publisher's connection went with it and the resource ends (the
      // backup keeps its copy); if it only missed heartbeats, it registers again and the broadcast goes on.
      this.#away(r);
    } else if (!this.#host.hasSessions(r.clientId)) {
      // Every upload finalized or gave up (the publisher left without DELETE): the resource is over.
      this.#resources.delete(r.id);
      this.#resumes.ended(r, false);
    }
    return true;
  }

  /**
   * A server registered (here or on another hub): a broadcast whose primary was another process of that id lost its
   * relay with it; it ends as `primary-gone` (resumable by re-POST) at once, not after WHIP_PRIMARY_AWAY_MS.
   */
  serverJoined(serverId: string, instance: string | undefined): void {
    for (const r of [...this.#resources.values()])
      if (r.primary === serverId && r.primaryInstance !== undefined && r.primaryInstance !== instance) this.#drop(r, 'primary-gone');
  }

  /** The primary's relay signals one of its upload sessions. */
  /** False when this hub holds no such WHIP resource (with several hubs, another may). */
  onServerSignal(serverId: string, raw: unknown, quiet = false): boolean {
    const p = parse(whipSignalSchema, raw);
    const s = p.ok ? this.#owned(serverId, p.value.resourceId, p.value.sessionId) : undefined;
    if (!p.ok || !s) {
      if (!quiet) this.#host.log.warn({ server: serverId }, `whip-signal ignored: ${p.ok ? 'not a party' : p.message}`);
      return false;
    }
    this.#host.emit(s.serverId, 'signal', { sessionId: p.value.sessionId, data: p.value.data });
    return true;
  }

  /**
   * The primary's relay gives an upload session up (its copy finalized, or failed), as a broadcaster's `leave`: the
   * session ends at the hub too, and its server is told. With the last one the resource is over — a publisher that
   * vanished without DELETE, finalized by its primary after WHIP_IDLE_TIMEOUT_MS — and the stream id and the key's
   * slot are free (before, only the server was told: the resource, the reservation and the key's slot stayed until the
   * hub restarted, so four such publishers left their key unable to broadcast).
   */
  onServerLeave(serverId: string, raw: unknown): boolean {
    const p = parse(whipLeaveSchema, raw);
    if (!p.ok || !this.#owned(serverId, p.value.resourceId, p.value.sessionId)) return false;
    const r = this.#resources.get(p.value.resourceId)!;
    const server = this.#host.session(p.value.sessionId)?.serverId;
    if (server && !r.left?.includes(server)) (r.left ??= []).push(server);
    this.#host.leave(r.clientId, p.value.sessionId);
    // A DELETE under way ends the resource itself once the primary answers (#delete).
    if (r.ending || this.#host.hasSessions(r.clientId)) return true;
    this.#drop(r, 'ended');
    // The publisher vanished without DELETE (OBS crashed, or its DELETE was lost): when it comes back within the window
    // its POST carries the recording on, as after a DELETE (the copies that did not finalize are left out then).
    this.#resumes.finished(r, r.left ?? []);
    return true;
  }

  /**
   * The primary's relay lost an upload (its server died, or failed the copy) and asks for a replacement entry server:
   * placed as a browser publisher's replacement `publish` is (PublishRouter: a new backup, or primary, passing over the
   * servers in `exclude` and those holding the stream), for the resource's client with the POST's key, place and address.
   * The new upload's signals then travel like the first ones'. Refused (`not-party`) when this hub relays no such
   * broadcast from that server (ended, or held by another hub the request did not reach).
   */
  onServerReplace(serverId: string, raw: unknown, ack: (r: Ack<PublishReply>) => void): void {
    const p = parse(whipReplaceSchema, raw);
    if (!p.ok) return ack(ackError(ErrorCode.badRequest, `invalid whip-replace: ${p.message}`));
    const r = this.#resources.get(p.value.resourceId);
    if (!r || r.primary !== serverId)
      return ack(ackError(ErrorCode.notParty, `this hub relays no WHIP broadcast ${p.value.resourceId} from ${serverId}`));
    // Taken back after a restart of this hub (whip-adopt): the POST's key and place are gone with the process.
    if (!r.again)
      return ack(ackError(ErrorCode.noIngest, 'a WHIP broadcast taken back after a hub restart gets no replacement entry server'));
    const { streamKey, location, ip } = r.again;
    const req: PublishRequest = { streamKey, location, streamId: r.streamId, streamSecret: r.secret, exclude: p.value.exclude };
    this.#host.publish(r.clientId, req, ip).then(
      (a) => {
        const how = a.ok ? { replacement: a.primary.serverId } : { refused: a.code, reason: a.message };
        this.#host.log.info({ stream: r.streamId, resource: r.id, exclude: p.value.exclude, ...how }, 'WHIP replacement entry server');
        ack(a);
      },
      (err: Error) => ack(ackError(ErrorCode.internal, `placing a replacement failed: ${err.message}`)),
    );
  }

  #owned(serverId: string, resourceId: string, sessionId: string) {
    const r = this.#resources.get(resourceId);
    const s = this.#host.session(sessionId);
    return r && r.primary === serverId && s?.clientSocketId === r.clientId ? s : undefined;
  }

  /** The broadcast of this stream id that this hub relays, if any. */
  #onAir(streamId: string): Resource | undefined {
    return [...this.#resources.values()].find((r) => r.streamId === streamId);
  }

  async #post(req: IncomingMessage, res: ServerResponse, streamId: string, relayed: boolean): Promise<void> {
    const post = await readWhipPost(req, res);
    if (!post) return;
    const { token } = post;
    // The publisher may re-POST before a session close told us its primary is gone. Only its own resources end here:
    // a POST with another token (refused below) must not cut a broadcast off while its primary is away.
    const up = new Set(this.#host.serverIds());
    for (const r of [...this.#resources.values()])
      if (r.streamId === streamId && !up.has(r.primary) && isKeyOf(r.tokenHash, token)) this.#drop(r, 'primary-gone');
    const onAir = this.#onAir(streamId);
    if (onAir && !isKeyOf(onAir.tokenHash, token))
      return fail(res, 409, `stream ${streamId} is on air (only the stream key that started it may resume it)`);
    // Its own publisher again (OBS reconnecting after a crash or a network change) while its primary still relays the
    // first POST: the id cannot take a second broadcast, and the first one ends only by DELETE or by going silent.
    if (onAir)
      return fail(
        res,
        409,
        `stream ${streamId} is still on air from an earlier POST with this key (its resource /whip/${streamId}/${onAir.id}; ` +
          `no DELETE came): DELETE that resource, or its entry server ends it ${WHIP_IDLE_TIMEOUT_MS / 1000} s after its last media; ` +
          `once it ended (by DELETE, or by going silent), this key's POST within ${WHIP_RESUME_WINDOW_MS / 1000} s carries the recording on; ` +
          'after that the recording keeps the id, so go on under a new stream id',
      );
    // One POST of a stream id at a time: a resume or a carry-on carries the stream's secret (the hub's), with which a
    // second claim would take the first's over while it is placed, and both would write one recording.
    if (this.#answering.has(streamId))
      return fail(res, 409, `another POST of stream ${streamId} is being answered; retry once it is (or DELETE its resource)`);
    this.#answering.add(streamId);
    try {
      await this.#place(req, res, streamId, relayed, post, up);
    } finally {
      this.#answering.delete(streamId);
    }
  }

  /** Places a POST that no broadcast on air here refused: relayed, refused, resumed, carried on or new. */
  async #place(
    req: IncomingMessage,
    res: ServerResponse,
    streamId: string,
    relayed: boolean,
    post: NonNullable<Awaited<ReturnType<typeof readWhipPost>>>,
    up: Set<string>,
  ): Promise<void> {
    const { token, sdp } = post;
    const decision = await this.#resumes.decide(streamId, token, up, relayed);
    if (decision.kind === 'relay') return this.#relay(req, res, decision.hub, sdp);
    if (decision.kind === 'refuse') return fail(res, 409, decision.reason);
    const resume = decision.kind === 'resume' ? decision : undefined;
    if (this.#resources.size + this.#placing >= this.#maxResources)
      return fail(res, 503, `this hub relays ${this.#maxResources} WHIP broadcasts already`);
    const id = mintResourceId(this.#host.hubId);
    const clientId = CLIENT_PREFIX + id;
    // A resume is placed on the server holding the copy (and only there: a new copy would need every byte from 0); a
    // finished stream carried on, on the servers storing its recording.
    const resuming = resume ? { streamSecret: resume.secret } : {};
    // A slot is held across the placement: POSTs arriving meanwhile count against the bound (they all passed it before).
    this.#placing++;
    const r = await this.#host
      .publish(clientId, { streamKey: token, location: post.location, streamId, ...resuming }, this.#host.clientIp(req), resume?.on)
      .finally(() => this.#placing--);
    if (!r.ok) return fail(res, statusFor(r.code), r.message);
    const resource: Resource = {
      id,
      streamId,
      clientId,
      primary: r.primary.serverId,
      primaryInstance: this.#host.instanceOf(r.primary.serverId),
      tokenHash: keyDigest(token),
      again: { streamKey: token, location: post.location, ip: this.#host.clientIp(req) },
      secret: r.streamSecret,
      ending: false,
    };
    this.#resources.set(id, resource);
    if (resume && !resume.on.servers.includes(r.primary.serverId)) {
      this.#drop(resource, 'resume-misplaced');
      return fail(res, 503, `the copy of ${streamId} on ${resume.on.servers.join(', ')} could not be resumed there`);
    }
    const { ok: _ok, ...assignment } = r;
    const offer: WhipOffer = {
      resourceId: id,
      streamId,
      sdp,
      assignment,
      keyDigest: resource.tokenHash.toString('hex'),
      ...(resume ? { resume: true } : {}),
    };
    const answer = await this.#host.request<{ sdp: string }>(r.primary.serverId, 'whip-offer', offer, WHIP_OFFER_TIMEOUT_MS);
    if (!answer.ok) {
      this.#drop(resource, 'offer-failed');
      return fail(res, answer.code === ErrorCode.badRequest ? 400 : 503, `the entry server could not take the offer: ${answer.message}`);
    }
    this.#resumes.started(resource, Boolean(resume));
    this.#host.log.info(
      { stream: streamId, resource: id, primary: r.primary.serverId, backup: r.backup?.serverId ?? null, resumed: Boolean(resume) },
      'WHIP broadcast started',
    );
    res.writeHead(201, {
      'content-type': 'application/sdp',
      location: `/whip/${streamId}/${id}`,
      'cache-control': 'no-store',
      'x-baton-primary': r.primary.serverId,
      ...(r.backup ? { 'x-baton-backup': r.backup.serverId } : {}),
      ...(resume ? { 'x-baton-resumed': 'true' } : {}),
      ...this.#linkHeaders(),
    });
    res.end(answer.sdp);
  }

  async #delete(res: ServerResponse, r: Resource): Promise<void> {
    if (r.ending) return fail(res, 409, 'this broadcast is already ending');
    r.ending = true;
    const primaryGone = () => {
      this.#drop(r, 'primary-gone');
      fail(
        res,
        502,
        `entry server ${r.primary} went away before the broadcast ended; the backup keeps its copy ` +
          `(a re-POST with the same stream key within ${WHIP_RESUME_WINDOW_MS / 1000} s resumes it)`,
      );
    };
    // Its connection may close while it finalizes (the hub gave up on its heartbeats, a network blip): then, as
    // when it was away before the DELETE came, it has WHIP_PRIMARY_AWAY_MS to come back and be asked again
    // (its broadcast's end is idempotent); else the broadcast ends as primary-gone, resumable on the backup.
    let giveUpAt: number | undefined;
    let done: Ack<WhipEndReply>;
    for (;;) {
      if (!(await this.#primaryBack(r))) return primaryGone();
      done = await this.#host.request<WhipEndReply>(r.primary, 'whip-end', { resourceId: r.id }, WHIP_END_TIMEOUT_MS);
      if (done.ok || done.code !== ErrorCode.noIngest) break;
      giveUpAt ??= Date.now() + this.#primaryAwayMs;
      if (Date.now() >= giveUpAt) return primaryGone();
      await new Promise((resolve) => setTimeout(resolve, PRIMARY_POLL_MS));
    }
    this.#drop(r, 'ended');
    if (!done.ok) return fail(res, 502, `the broadcast ended, but finalizing failed: ${done.message}`);
    // OBS sends DELETE before it reconnects after a lost connection: its next POST carries the recording on.
    const stored = Array.isArray(done.stored) ? done.stored : [];
    this.#resumes.finished(r, stored);
    await this.#settled(r.streamId, stored);
    const { ok: _ok, ...body } = done;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }

  /** Until this hub's table lists the recording stored on `stored` and no copy of it live, at most DELETE_SETTLE_MS. */
  async #settled(streamId: string, stored: readonly string[]): Promise<void> {
    const known = () =>
      this.#host.liveCopies(streamId).length === 0 && stored.every((id) => this.#host.storedCopies(streamId).includes(id));
    for (const until = Date.now() + DELETE_SETTLE_MS; !known() && Date.now() < until; )
      await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }

  /**
   * A DELETE of a resource this hub does not hold: after a restart of this hub its broadcast may still be on air.
   * The server relaying it for a POST of this Bearer token's key says so (`whip-adopt`), and the resource is taken
   * back and ended as any other; else 404.
   */
  async #adopt(req: IncomingMessage, res: ServerResponse, streamId: string, resourceId: string): Promise<void> {
    const token = bearer(req);
    const gone = () => fail(res, 404, 'no such WHIP resource (ended, or never created)');
    if (!token) return gone();
    const digest = keyDigest(token);
    // Asked side by side: only the primary relaying it answers, and an unresponsive holder costs one timeout, not one each.
    const holders = this.#host.liveCopies(streamId).slice(0, MAX_ADOPT_ASKS);
    const answers = await Promise.all(
      holders.map((id) =>
        this.#host.request<WhipAdoptReply>(id, 'whip-adopt', { resourceId, keyDigest: digest.toString('hex') }, WHIP_ADOPT_TIMEOUT_MS),
      ),
    );
    const i = answers.findIndex((a) => a.ok && a.streamId === streamId);
    const a = answers[i];
    if (!a?.ok) return gone();
    const serverId = holders[i]!;
    // Another DELETE of it may have taken it back meanwhile: that one ends it (this one is told it is ending).
    let r = this.#resources.get(resourceId);
    if (!r) {
      if (this.#resources.size >= this.#maxResources)
        return fail(res, 503, `this hub relays ${this.#maxResources} WHIP broadcasts already`);
      r = {
        id: resourceId,
        streamId,
        clientId: CLIENT_PREFIX + resourceId,
        primary: serverId,
        primaryInstance: this.#host.instanceOf(serverId),
        tokenHash: digest,
        secret: a.streamSecret,
        ending: false,
      };
      this.#resources.set(resourceId, r);
      this.#host.log.info({ stream: streamId, resource: resourceId, primary: serverId }, 'WHIP resource taken back from its primary');
    }
    return this.#delete(res, r);
  }

  #away(r: Resource): void {
    r.awayTimer ??= setTimeout(() => {
      r.awayTimer = undefined;
      if (!this.#host.serverIds().includes(r.primary)) this.#drop(r, 'primary-gone');
    }, this.#primaryAwayMs);
    r.awayTimer.unref?.();
  }

  /** True once the resource's primary is in the table (at once if it is); false if the resource ended first. */
  async #primaryBack(r: Resource): Promise<boolean> {
    while (!this.#host.serverIds().includes(r.primary)) {
      if (this.#resources.get(r.id) !== r) return false;
      this.#away(r);
      await new Promise((resolve) => setTimeout(resolve, PRIMARY_POLL_MS));
    }
    return true;
  }

  #drop(r: Resource, reason: string): void {
    clearTimeout(r.awayTimer);
    r.awayTimer = undefined;
    if (!this.#resources.delete(r.id)) return;
    this.#resumes.ended(r, reason === 'primary-gone');
    this.#host.closeClient(r.clientId, reason);
  }

  /** Relays a POST to `hub`, which holds the stream's broadcast: it answers as if the POST had come there. */
  #relay(req: IncomingMessage, res: ServerResponse, hub: string, sdp: string): void {
    const ip = this.#host.clientIp(req);
    const r: ResourceRequest = {
      method: 'POST',
      path: req.url ?? '/',
      contentType: 'application/sdp',
      body: sdp,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      ...(ip ? { ip } : {}),
    };
    relayTo(this.#host.forward!, hub, 'whip', r, WHIP_RELAYED_POST_MS, res, 'this broadcast');
  }

  #linkHeaders(): Record<string, string[]> {
    return linkHeaders(this.#host.iceServers);
  }
}
