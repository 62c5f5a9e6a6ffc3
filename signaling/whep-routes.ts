// WHEP playback on the hub: POST /whep/<asset> asks the director (as `watch` does) and relays the player's offer to the chosen server.
import { addressKey } from '../common/address-key.js';
import { decrementCount } from '../common/counts.js';
import { isLoopbackIp } from '../common/loopback-ip.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, parse, type Ack, type SelectDecision } from './protocol/index.js';
import { ASSET_ID_PATTERN, ASSET_ID_RULE } from './protocol/ids.js';
import { whepEndSchema, type WhepOffer } from './protocol/whep.js';
import { fail, isSdp, linkHeaders, readOffer, statusFor } from './sdp-http.js';
import type { Logger } from './log.js';
import {
  answerHere,
  mintResourceId,
  relayedElsewhere,
  type ForwardedAnswer,
  type ResourceForward,
  type ResourceRequest,
} from './resource-forward.js';

/** WHEP players one hub relays at once; more get 503. */
export const MAX_WHEP_RESOURCES = 1_000;
/** WHEP players one client IP may hold at once; more get 429. */
export const MAX_WHEP_RESOURCES_PER_IP = 16;
/**
 * WHEP offers one hub has with its servers at once, and per client address: an offer costs a server a peer
 * connection, ICE gathering and a demuxer, the client one HTTP request; these bound that work (the HTTP rate
 * limits only how often). More get 503 / 429 with Retry-After.
 */
export const MAX_WHEP_OFFERS_IN_FLIGHT = 64;
export const MAX_WHEP_OFFERS_IN_FLIGHT_PER_IP = 8;
/** How long the chosen server may take to answer (asset opened, ICE gathered), ms. */
export const WHEP_OFFER_TIMEOUT_MS = 10_000;
/**
 * Players whose server ended them (the broadcast ended, the asset changed, the server died) remembered per hub, the
 * oldest going first: their player's DELETE, which comes after, is answered 200 rather than a 404 that a browser
 * logs in its console as an error of the page.
 */
export const MAX_ENDED_WHEP_RESOURCES = 1_024;
/** Servers tried for one offer (the director's pick, then its next one without it). */
const WHEP_ATTEMPTS = 2;

export interface WhepHost {
  /** The director's `select`, exactly as for `watch`. */
  select(assetId: string, exclude: string[]): Promise<Ack<SelectDecision>>;
  request<T extends object>(serverId: string, event: string, msg: unknown, timeoutMs: number): Promise<Ack<T>>;
  clientIp(req: IncomingMessage): string | null;
  serverIds(): string[];
  /** The process a server id names now (its table row's `instance`), if known. */
  instanceOf(serverId: string): string | undefined;
  iceServers: RTCIceServer[];
  log: Logger;
  /** Several hubs: as WhipHost's. */
  hubId?: string;
  forward?: ResourceForward;
}

interface Resource {
  id: string;
  assetId: string;
  serverId: string;
  /** The process of `serverId` that was offered the player. */
  instance?: string;
  ip: string;
}

export interface WhepRoutesOptions {
  maxResources?: number;
  maxPerIp?: number;
  /** Default MAX_WHEP_OFFERS_IN_FLIGHT. */
  maxOffersInFlight?: number;
  /** Default MAX_WHEP_OFFERS_IN_FLIGHT_PER_IP. */
  maxOffersInFlightPerIp?: number;
}

/** CORS for players on other origins (a WHEP player is often a web page): the headers they must read. */
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'location, link, x-baton-reason, x-baton-server',
};

export class WhepRoutes {
  readonly #host: WhepHost;
  readonly #max: number;
  readonly #maxPerIp: number;
  readonly #resources = new Map<string, Resource>();
  /** Resource id → asset id of players their server ended lately (MAX_ENDED_WHEP_RESOURCES). */
  readonly #endedByServer = new Map<string, string>();
  readonly #perIp = new Map<string, number>();
  readonly #maxOffers: number;
  readonly #maxOffersPerIp: number;
  /** Offers being placed or answered, by client address (an entry only while one is in flight). */
  readonly #offersPerIp = new Map<string, number>();
  #offers = 0;

  constructor(host: WhepHost, opts: WhepRoutesOptions = {}) {
    this.#host = host;
    this.#max = opts.maxResources ?? MAX_WHEP_RESOURCES;
    this.#maxPerIp = opts.maxPerIp ?? MAX_WHEP_RESOURCES_PER_IP;
    this.#maxOffers = opts.maxOffersInFlight ?? MAX_WHEP_OFFERS_IN_FLIGHT;
    this.#maxOffersPerIp = opts.maxOffersInFlightPerIp ?? MAX_WHEP_OFFERS_IN_FLIGHT_PER_IP;
  }

  /** Offers the hub is placing or waiting on a server's answer for. */
  get offersInFlight(): number {
    return this.#offers;
  }

  get size(): number {
    return this.#resources.size;
  }

  /** Handles `/whep/…` requests. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): void {
    const parts = path.split('/').slice(2);
    const assetId = parts[0] ?? '';
    if (!ASSET_ID_PATTERN.test(assetId) || parts.length > 2)
      return fail(res, 404, `no such WHEP endpoint: use /whep/<asset id> (${ASSET_ID_RULE})`, CORS);
    if (req.method === 'OPTIONS') {
      return void res
        .writeHead(204, {
          ...CORS,
          allow: 'POST, DELETE, OPTIONS',
          'access-control-allow-methods': 'POST, DELETE, OPTIONS',
          'access-control-allow-headers': 'content-type, authorization',
          ...linkHeaders(this.#host.iceServers),
        })
        .end();
    }
    if (parts.length === 1) {
      if (req.method !== 'POST') return fail(res, 405, 'POST an SDP offer here', { ...CORS, allow: 'POST, OPTIONS' });
      return void this.#post(req, res, assetId).catch((err: Error) => fail(res, 500, `WHEP offer failed: ${err.message}`, CORS));
    }
    const r = this.#resources.get(parts[1]!);
    if (!r && this.#endedByServer.get(parts[1]!) === assetId && req.method === 'DELETE') {
      // Its server ended it first (a broadcast's end reaches the player before its own DELETE): nothing left to end.
      this.#endedByServer.delete(parts[1]!);
      return void res.writeHead(200, { ...CORS, 'content-type': 'text/plain; charset=utf-8' }).end('this player had ended already');
    }
    if (!r && relayedElsewhere(this.#host, 'whep', parts[1]!, req, res, path, WHEP_OFFER_TIMEOUT_MS, CORS)) return;
    if (!r || r.assetId !== assetId) return fail(res, 404, 'no such WHEP resource (ended, or never created)', CORS);
    if (req.method !== 'DELETE') return fail(res, 405, 'only DELETE ends this resource', { ...CORS, allow: 'DELETE' });
    this.#forget(r);
    void this.#host.request(r.serverId, 'whep-end', { resourceId: r.id }, WHEP_OFFER_TIMEOUT_MS).catch(() => undefined);
    res.writeHead(200, CORS).end();
  }

  /** A resource request another hub relayed here (several hubs): answered as if it had come here. */
  answerForwarded(r: ResourceRequest): Promise<ForwardedAnswer> {
    return answerHere((req, res) => this.handle(req, res, r.path), r);
  }

  /**
   * A server registered (here or on another hub): players held for another process of that id died with it, and
   * leave their slots at once rather than at the next POST (which only sees servers missing from the table).
   */
  serverJoined(serverId: string, instance: string | undefined): void {
    for (const r of [...this.#resources.values()])
      if (r.serverId === serverId && r.instance !== undefined && r.instance !== instance) this.#forget(r, true);
  }

  /** A server's WHEP session ended by itself (the player left, the asset ended). */
  /** False when this hub holds no such WHEP resource (with several hubs, another may). */
  onServerClosed(serverId: string, raw: unknown): boolean {
    const p = parse(whepEndSchema, raw);
    const r = p.ok ? this.#resources.get(p.value.resourceId) : undefined;
    if (!r || r.serverId !== serverId) return false;
    this.#forget(r, true);
    return true;
  }

  async #post(req: IncomingMessage, res: ServerResponse, assetId: string): Promise<void> {
    if (!isSdp(req)) return fail(res, 415, 'Content-Type must be application/sdp', CORS);
    const sdp = await readOffer(req, res, 'receive', CORS);
    if (sdp === undefined) return;
    // A server that died takes its players with it: they re-POST; their slots are free again. (A
    // player still being placed has no server yet: it is another request's, in flight.)
    const up = new Set(this.#host.serverIds());
    for (const r of [...this.#resources.values()]) if (r.serverId && !up.has(r.serverId)) this.#forget(r, true);
    const from = this.#host.clientIp(req) ?? 'unknown';
    // Counted by addressKey (an IPv6 client's /64 is one address). Loopback is not capped per address, as for viewer
    // sessions (every local player shares it); the hub-wide cap holds.
    const ip = addressKey(from);
    const capped = !isLoopbackIp(from);
    if (capped && (this.#perIp.get(ip) ?? 0) >= this.#maxPerIp)
      return fail(res, 429, `this address plays ${this.#maxPerIp} WHEP streams already`, { ...CORS, 'retry-after': '1' });
    if (this.#resources.size >= this.#max) return fail(res, 503, `this hub relays ${this.#max} WHEP players already`, CORS);
    if (capped && (this.#offersPerIp.get(ip) ?? 0) >= this.#maxOffersPerIp)
      return fail(res, 429, `this address has ${this.#maxOffersPerIp} WHEP offers in flight already`, { ...CORS, 'retry-after': '1' });
    if (this.#offers >= this.#maxOffers)
      return fail(res, 503, `this hub has ${this.#maxOffers} WHEP offers in flight already`, { ...CORS, 'retry-after': '1' });
    this.#offers++;
    this.#offersPerIp.set(ip, (this.#offersPerIp.get(ip) ?? 0) + 1);
    try {
      await this.#place(res, assetId, sdp, ip);
    } finally {
      this.#offers--;
      decrementCount(this.#offersPerIp, ip);
    }
  }

  /** Places one player: the director's pick answers its offer, or the next one does. */
  async #place(res: ServerResponse, assetId: string, sdp: string, ip: string): Promise<void> {
    const id = mintResourceId(this.#host.hubId);
    // Reserved before the first await, so concurrent offers from one address count against its bound.
    const r: Resource = { id, assetId, serverId: '', ip };
    this.#resources.set(id, r);
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    const tried: string[] = [];
    let last = '';
    for (let i = 0; i < WHEP_ATTEMPTS; i++) {
      const pick = await this.#host.select(assetId, tried);
      if (!pick.ok) {
        this.#forget(r);
        return fail(res, pick.code === ErrorCode.unknownAsset ? 404 : statusFor(pick.code), pick.message, CORS);
      }
      r.serverId = pick.serverId;
      r.instance = this.#host.instanceOf(pick.serverId);
      const offer: WhepOffer = { resourceId: id, assetId, sdp };
      const answer = await this.#host.request<{ sdp: string }>(pick.serverId, 'whep-offer', offer, WHEP_OFFER_TIMEOUT_MS);
      if (answer.ok) {
        if (!this.#resources.has(id)) {
          last = 'the player was ended (DELETE, or its server closed it) before its answer came';
          break;
        }
        this.#host.log.info({ asset: assetId, resource: id, server: pick.serverId, reason: pick.reason }, 'WHEP player started');
        res.writeHead(201, {
          ...CORS,
          'content-type': 'application/sdp',
          location: `/whep/${assetId}/${id}`,
          'cache-control': 'no-store',
          'x-baton-reason': pick.reason,
          'x-baton-server': pick.serverId,
          ...linkHeaders(this.#host.iceServers),
        });
        return void res.end(answer.sdp);
      }
      if (answer.code === ErrorCode.badRequest) {
        this.#forget(r);
        return fail(res, 400, `the media server refused the offer: ${answer.message}`, CORS);
      }
      last = answer.message;
      tried.push(pick.serverId);
    }
    this.#forget(r);
    fail(res, 503, `no media server could take this player${last ? `: ${last}` : ''}`, CORS);
  }

  /** `byServer`: its server ended it, and the player's DELETE may still come (MAX_ENDED_WHEP_RESOURCES). */
  #forget(r: Resource, byServer = false): void {
    if (!this.#resources.delete(r.id)) return;
    decrementCount(this.#perIp, r.ip);
    if (!byServer) return;
    this.#endedByServer.set(r.id, r.assetId);
    if (this.#endedByServer.size > MAX_ENDED_WHEP_RESOURCES) this.#endedByServer.delete(this.#endedByServer.keys().next().value!);
  }
}
