// One stream id, one owner: the hub's reservations of stream ids and the secrets that prove ownership.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode, ackError, type AckError } from './protocol/types.js';

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
}

/** What the hub knows of a stream id besides its own reservations (from the state table). */
export interface StreamFacts {
  /** Owner hashes of the live copies servers report (empty when none is live). */
  liveOwners: string[];
  /** A finished asset of that id is stored somewhere. */
  stored: boolean;
}

/**
 * Reservations of stream ids. `claim` is synchronous, so two `publish` requests
 * for one id cannot both pass it while the hub awaits the director. The first
 * claim mints a secret, handed to the publisher and to its entry servers; a
 * later claim from another connection must present it. After a hub restart the
 * reservations are gone, but the servers still report the live stream with the
 * secret's hash, and the claim is checked against that.
 */
export class StreamOwners {
  readonly #owners = new Map<string, { secret: string; clientSocketId: string }>();
  readonly #mint: () => string;

  /** Told when a reservation ends here (several hubs: the cluster-wide claim is released too). */
  onRelease: ((streamId: string, clientSocketId: string) => void) | undefined;

  constructor(mint: () => string = () => randomBytes(STREAM_SECRET_BYTES).toString('base64url')) {
    this.#mint = mint;
  }

  /**
   * Several hubs: the cluster-wide claim (Redis) says the id is this client's with `secret` — the
   * one a publisher proved, minted first on another hub. The reservation here takes it.
   */
  adopt(streamId: string, clientSocketId: string, secret: string): void {
    this.#owners.set(streamId, { secret, clientSocketId });
  }

  get size(): number {
    return this.#owners.size;
  }

  claim(streamId: string, clientSocketId: string, proof: string | undefined, facts: StreamFacts): Claim | AckError {
    const mine = this.#owners.get(streamId);
    if (mine) {
      if (mine.clientSocketId !== clientSocketId && !(proof !== undefined && sameSecret(proof, mine.secret))) {
        return ackError(ErrorCode.conflict, `stream ${streamId} is being published by someone else`);
      }
      mine.clientSocketId = clientSocketId; // the owner came back on a new connection
      return { ok: true, secret: mine.secret, fresh: false };
    }
    if (facts.liveOwners.length > 0) {
      // Live on some server, unknown here (the hub restarted): only the secret's holder may go on.
      const h = proof === undefined ? undefined : ownerHash(proof);
      if (h === undefined || !facts.liveOwners.every((o) => sameSecret(o, h))) {
        return ackError(ErrorCode.conflict, `stream ${streamId} is live and owned by another publisher`);
      }
      this.#owners.set(streamId, { secret: proof!, clientSocketId });
      return { ok: true, secret: proof!, fresh: false };
    }
    if (facts.stored) return ackError(ErrorCode.conflict, `an asset called ${streamId} already exists`);
    const secret = this.#mint();
    this.#owners.set(streamId, { secret, clientSocketId });
    return { ok: true, secret, fresh: true };
  }

  /** The stream has no publish session left (or its first assignment failed): the id is free here again. */
  release(streamId: string): void {
    const o = this.#owners.get(streamId);
    if (!o) return;
    this.#owners.delete(streamId);
    this.onRelease?.(streamId, o.clientSocketId);
  }
}
