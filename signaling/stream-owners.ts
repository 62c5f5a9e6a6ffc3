// One stream id, one owner: the hub's reservations of stream ids and the secrets that prove ownership.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode, ackError, type AckError } from './protocol/types.js';
import { decrementCount } from '../common/counts.js';

/** Broadcasts (stream ids reserved at once) one stream key may hold on a hub, or across hubs on one Redis. */
export const DEFAULT_MAX_BROADCASTS_PER_KEY = 4;

/** A stream key as the hub counts its broadcasts: a hash, so the key itself is not kept (nor sent to Redis). */
export function keyIdOf(streamKey: string): string {
  return createHash('sha256').update(streamKey).digest('base64url').slice(0, 22);
}

/** A secret as the hub keeps it to know it again (a WHIP broadcast's stream key for its DELETE and resume, the operator token): its sha256. */
export function keyDigest(streamKey: string): Buffer {
  return createHash('sha256').update(streamKey).digest();
}

/** Whether `streamKey` is the secret `digest` was made of (in constant time); no key is not. */
export function isKeyOf(digest: Buffer, streamKey: string | undefined): boolean {
  return streamKey !== undefined && timingSafeEqual(digest, keyDigest(streamKey));
}

/** Bytes of randomness in a stream secret (sent as base64url, 43 characters). */
export const STREAM_SECRET_BYTES = 32;

/** What servers report with a live stream instead of its secret: sha256 hex, safe to replicate and show. */
export function ownerHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface Claim {
  ok: true;
  secret: string;
  /** Minted by this claim: release it if the publish fails. */
  fresh: boolean;
  /**
   * When this hub first granted the id to its publisher (ms since the epoch): the stream's start, from which its entry
   * servers count its bitrate quota. A reservation taken again within RELEASED_START_MS of its release, by the holder
   * of its secret, keeps it; otherwise (a new id, another publisher, a hub restart) it is the time of this claim.
   */
  startedAtMs: number;
}

/**
 * A released reservation's start is kept this long for its publisher: a broadcast whose two entry servers were lost at
 * once has no publish session left (the id is released) until the publisher's replacement request, which comes within
 * seconds (client-sdk/publisher.ts `#replace`); the new copies then count the quota from the stream's real start and take
 * the publisher's resend of the whole stream from byte 0.
 */
export const RELEASED_START_MS = 60_000;
/** Released reservations' starts kept at most per hub (the oldest go first). */
export const MAX_RELEASED_STARTS = 10_000;

/** What the hub knows of a stream id besides its own reservations (from the state table). */
export interface StreamFacts {
  /** Owner hashes of the live copies servers report (empty when none is live). */
  liveOwners: string[];
  /** A finished asset of that id is stored somewhere. */
  stored: boolean;
  /**
   * Copies of it that ended lately (their owner hashes and the stream's start, `EndedCopies`): the publisher of a
   * stream stored moments ago, whose other copy was lost at the end, proves the id with its secret and adds a copy.
   */
  ended?: { owners: readonly string[]; startedAtMs: number };
}

/** Which stream key a new reservation counts against, and how many that key may hold. */
export interface KeyCap {
  keyId: string;
  max: number;
}

/**
 * Reservations of stream ids. `claim` is synchronous, so two `publish` requests
 * for one id cannot both pass it while the hub awaits the director. The first
 * claim mints a secret, handed to the publisher and to its entry servers; a
 * later claim from another connection must present it. After a hub restart the
 * reservations are gone, but the servers still report the live stream with the
 * secret's hash, and the claim is checked against that. Each reservation counts
 * against the stream key that made it (`KeyCap`): a key holding `max` is refused
 * a new id (`too-many-broadcasts`), while the ids it holds may be claimed again
 * (a resume, a replacement) without counting twice.
 */
export class StreamOwners {
  readonly #owners = new Map<string, { secret: string; clientSocketId: string; keyId?: string; startedAtMs: number }>();
  /** Released reservations, oldest first: the owner's secret hash and the stream's start (RELEASED_START_MS). */
  readonly #released = new Map<string, { owner: string; startedAtMs: number; releasedAtMs: number }>();
  /** Reservations per key id; a key leaves with its last reservation. */
  readonly #perKey = new Map<string, number>();
  readonly #mint: () => string;
  readonly #now: () => number;

  /** Told when a reservation ends here (several hubs: the cluster-wide claim and key slot are released too). */
  onRelease: ((streamId: string, clientSocketId: string, keyId: string | undefined) => void) | undefined;

  constructor(mint: () => string = () => randomBytes(STREAM_SECRET_BYTES).toString('base64url'), now: () => number = Date.now) {
    this.#mint = mint;
    this.#now = now;
  }

  /**
   * Several hubs: the cluster-wide claim (Redis) says the id is this client's with `secret` — the
   * one a publisher proved, minted first on another hub. The reservation here takes it.
   */
  adopt(streamId: string, clientSocketId: string, secret: string): void {
    const o = this.#owners.get(streamId);
    if (o) Object.assign(o, { secret, clientSocketId });
    else this.#owners.set(streamId, { secret, clientSocketId, startedAtMs: this.#now() });
  }

  get size(): number {
    return this.#owners.size;
  }

  /** The key id a reservation counts against (the one that made it), if any. */
  keyOf(streamId: string): string | undefined {
    return this.#owners.get(streamId)?.keyId;
  }

  /** Stream ids reserved here under one key id. */
  heldBy(keyId: string): number {
    return this.#perKey.get(keyId) ?? 0;
  }

  claim(streamId: string, clientSocketId: string, proof: string | undefined, facts: StreamFacts, key?: KeyCap): Claim | AckError {
    const mine = this.#owners.get(streamId);
    if (mine) {
      if (mine.clientSocketId !== clientSocketId && !(proof !== undefined && sameSecret(proof, mine.secret))) {
        return ackError(ErrorCode.conflict, `stream ${streamId} is being published by someone else`);
      }
      mine.clientSocketId = clientSocketId; // the owner came back on a new connection
      return { ok: true, secret: mine.secret, fresh: false, startedAtMs: mine.startedAtMs };
    }
    const before = this.#releasedStart(streamId, proof);
    if (facts.liveOwners.length > 0) {
      // Live on some server, unknown here (the hub restarted): only the secret's holder may go on.
      const h = proof === undefined ? undefined : ownerHash(proof);
      if (h === undefined || !facts.liveOwners.every((o) => sameSecret(o, h))) {
        return ackError(ErrorCode.conflict, `stream ${streamId} is live and owned by another publisher`);
      }
      return this.#reserve(streamId, clientSocketId, proof!, false, key, before);
    }
    if (facts.stored) {
      // Its own publisher may add a copy while the stream has just ended (one of its copies was lost at the end);
      // for anyone else the name is taken.
      const h = proof === undefined ? undefined : ownerHash(proof);
      const endedHere = h !== undefined && facts.ended?.owners.some((o) => sameSecret(o, h)) === true;
      if (before === undefined && !endedHere) return ackError(ErrorCode.conflict, `an asset called ${streamId} already exists`);
      return this.#reserve(streamId, clientSocketId, proof!, false, key, before ?? facts.ended?.startedAtMs);
    }
    // Neither live nor stored, but live moments ago (its copies failed, and a kept one is not yet in the catalog; or
    // none was kept): the name stays its publisher's for the record's life. Anyone else could otherwise take it in the
    // gap and store another stream under it (found by review: granted as new to another key holder at the moment both
    // copies of a SIGKILLed publisher were abandoned).
    if (facts.ended) {
      const h = proof === undefined ? undefined : ownerHash(proof);
      if (h === undefined || !facts.ended.owners.some((o) => sameSecret(o, h))) {
        return ackError(ErrorCode.conflict, `stream ${streamId} ended moments ago; only its publisher may use the name now`);
      }
      return this.#reserve(streamId, clientSocketId, proof!, false, key, before ?? facts.ended.startedAtMs);
    }
    // The publisher of a stream released moments ago (both entry servers lost at once) keeps its secret and its start.
    return this.#reserve(streamId, clientSocketId, before === undefined ? undefined : proof, true, key, before);
  }

  /** The start of `streamId`'s reservation released within RELEASED_START_MS, if `proof` is its secret. */
  #releasedStart(streamId: string, proof: string | undefined): number | undefined {
    const r = this.#released.get(streamId);
    if (!r || proof === undefined) return undefined;
    if (this.#now() - r.releasedAtMs > RELEASED_START_MS) {
      this.#released.delete(streamId);
      return undefined;
    }
    return sameSecret(r.owner, ownerHash(proof)) ? r.startedAtMs : undefined;
  }

  /** Released starts kept now (for tests and metrics). */
  get releasedStarts(): number {
    return this.#released.size;
  }

  #reserve(
    streamId: string,
    clientSocketId: string,
    secret: string | undefined,
    fresh: boolean,
    key: KeyCap | undefined,
    startedAtMs: number | undefined,
  ): Claim | AckError {
    if (key && this.heldBy(key.keyId) >= key.max)
      return ackError(
        ErrorCode.tooManyBroadcasts,
        `this stream key already has ${key.max} broadcast${key.max === 1 ? '' : 's'} live: end one first`,
      );
    const s = secret ?? this.#mint();
    const start = startedAtMs ?? this.#now();
    this.#released.delete(streamId);
    this.#owners.set(streamId, { secret: s, clientSocketId, ...(key ? { keyId: key.keyId } : {}), startedAtMs: start });
    if (key) this.#perKey.set(key.keyId, this.heldBy(key.keyId) + 1);
    return { ok: true, secret: s, fresh, startedAtMs: start };
  }

  /** The stream has no publish session left (or its first assignment failed): the id is free here again. */
  release(streamId: string): void {
    const o = this.#owners.get(streamId);
    if (!o) return;
    this.#owners.delete(streamId);
    this.#remember(streamId, o.secret, o.startedAtMs);
    if (o.keyId !== undefined) decrementCount(this.#perKey, o.keyId);
    this.onRelease?.(streamId, o.clientSocketId, o.keyId);
  }

  /** Keeps a released reservation's start for RELEASED_START_MS (at most MAX_RELEASED_STARTS, the oldest go first). */
  #remember(streamId: string, secret: string, startedAtMs: number): void {
    const now = this.#now();
    this.#released.delete(streamId);
    this.#released.set(streamId, { owner: ownerHash(secret), startedAtMs, releasedAtMs: now });
    for (const [id, r] of this.#released) {
      if (this.#released.size <= MAX_RELEASED_STARTS && now - r.releasedAtMs <= RELEASED_START_MS) break;
      this.#released.delete(id);
    }
  }
}
