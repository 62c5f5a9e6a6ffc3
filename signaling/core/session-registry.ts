// The hub's open sessions by id, and how many each client connection and client IP holds, so no anonymous client takes more than its share of the servers' slots.
import { addressKey } from '../../common/address-key.js';
import { isLoopbackIp } from '../../common/loopback-ip.js';
import { ackError, ErrorCode, type AckError } from '../protocol/index.js';

/** How many viewer sessions one client may hold at once. */
export interface SessionLimits {
  /** Opened but not connected yet (no WebRTC connection), per client connection. */
  unconnectedPerConn: number;
  /** Opened but not connected yet, per client IP. */
  unconnectedPerIp: number;
  /** Open sessions, connected or not, per client connection. */
  sessionsPerConn: number;
  /** Open sessions, connected or not, per client IP. */
  sessionsPerIp: number;
}

/**
 * A page watches one stream (a few in a multi-view), and a session that does not
 * connect is expired by its server in seconds: 4 waiting per connection is more
 * than a real viewer ever has. Per IP the bounds are wider, for households and
 * offices behind one NAT address.
 */
export const DEFAULT_SESSION_LIMITS: Readonly<SessionLimits> = Object.freeze({
  unconnectedPerConn: 4,
  unconnectedPerIp: 16,
  sessionsPerConn: 16,
  sessionsPerIp: 64,
});

export interface Tally {
  open: number;
  unconnected: number;
}

/**
 * One admitted session's place in its client's counts, from `admit` until it is
 * released (idempotent). It counts as unconnected until `connect()`.
 */
export class Admission {
  readonly ok = true;
  #connected = false;
  #released = false;
  readonly #tallies: Tally[];
  readonly #onEmpty: () => void;

  constructor(tallies: Tally[], onEmpty: () => void) {
    this.#tallies = tallies;
    this.#onEmpty = onEmpty;
    for (const t of tallies) {
      t.open++;
      t.unconnected++;
    }
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** The session's WebRTC connection is up: it no longer counts as unconnected. */
  connect(): void {
    if (this.#connected || this.#released) return;
    this.#connected = true;
    for (const t of this.#tallies) t.unconnected--;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const t of this.#tallies) {
      t.open--;
      if (!this.#connected) t.unconnected--;
    }
    this.#onEmpty();
  }
}

/**
 * Sessions by id (a Map, so the hub's code reads as before), plus per-connection
 * and per-IP tallies of the sessions admitted through `admit`. Deleting a session
 * releases its admission, whatever path deletes it (leave, client gone, server
 * gone, closed or expired by the server). Loopback addresses get no per-IP cap:
 * behind a local proxy that is not in `--trusted-proxies` every client shares it,
 * and a per-IP cap would then cap the whole audience.
 */
export class SessionRegistry<S extends { admission?: Admission }> extends Map<string, S> {
  readonly #limits: SessionLimits;
  readonly #byConn = new Map<string, Tally>();
  readonly #byIp = new Map<string, Tally>();
  /** Several hubs: what the other hubs hold for an IP, counted against the same per-IP caps. */
  shared?: { elsewhere(ip: string): Tally | undefined; lookUp(ip: string): Promise<void> };

  constructor(limits: Partial<SessionLimits> = {}) {
    super();
    this.#limits = { ...DEFAULT_SESSION_LIMITS, ...limits };
  }

  /** Several hubs: learns what the other hubs hold for `ip` before `admit` (a no-op for one hub and uncapped addresses). */
  async lookUp(ip: string | null): Promise<void> {
    if (this.shared && ip !== null && !isLoopbackIp(ip)) await this.shared.lookUp(addressKey(ip));
  }

  /** The per-IP counts of this hub's sessions (capped addresses only). */
  ipTallies(): IterableIterator<[string, Readonly<Tally>]> {
    return this.#byIp.entries();
  }

  /**
   * Counts one more (unconnected) session for `conn` and `ip`, or says which
   * bound it would cross (`too-many-sessions`) and counts nothing. The caller
   * attaches the admission to the session it opens (`attach`) or releases it.
   */
  admit(conn: string, ip: string | null): Admission | AckError {
    const l = this.#limits;
    const byConn = this.#byConn.get(conn) ?? { open: 0, unconnected: 0 };
    // Counted by addressKey: an IPv6 client's whole /64 is one address here.
    const key = ip !== null && !isLoopbackIp(ip) ? addressKey(ip) : null;
    const byIp = key !== null ? (this.#byIp.get(key) ?? { open: 0, unconnected: 0 }) : null;
    const other = key !== null ? this.shared?.elsewhere(key) : undefined;
    const ipUnconnected = (byIp?.unconnected ?? 0) + (other?.unconnected ?? 0);
    const ipOpen = (byIp?.open ?? 0) + (other?.open ?? 0);
    const over =
      byConn.unconnected >= l.unconnectedPerConn
        ? `this connection already has ${byConn.unconnected} sessions waiting for a WebRTC connection (limit ${l.unconnectedPerConn}); connect or leave one first`
        : byConn.open >= l.sessionsPerConn
          ? `this connection already has ${byConn.open} open sessions (limit ${l.sessionsPerConn}); leave one first`
          : byIp && ipUnconnected >= l.unconnectedPerIp
            ? `your address already has ${ipUnconnected} sessions waiting for a WebRTC connection (limit ${l.unconnectedPerIp})`
            : byIp && ipOpen >= l.sessionsPerIp
              ? `your address already has ${ipOpen} open sessions (limit ${l.sessionsPerIp})`
              : null;
    if (over) return ackError(ErrorCode.tooManySessions, over);
    this.#byConn.set(conn, byConn);
    if (byIp) this.#byIp.set(key!, byIp);
    return new Admission(byIp ? [byConn, byIp] : [byConn], () => {
      if (byConn.open === 0) this.#byConn.delete(conn);
      if (byIp && byIp.open === 0) this.#byIp.delete(key!);
    });
  }

  /** Gives the session `id` its admission (released when the session is deleted); false if it is gone. */
  attach(id: string, admission: Admission): boolean {
    const s = this.get(id);
    if (!s) return false;
    s.admission = admission;
    return true;
  }

  /** The sessions counted for a connection and for an IP (for tests, metrics and the limits page). */
  tally(by: 'conn' | 'ip', key: string): Readonly<Tally> {
    return (by === 'conn' ? this.#byConn : this.#byIp).get(by === 'ip' ? addressKey(key) : key) ?? { open: 0, unconnected: 0 };
  }

  /** Connections and IPs with a tally: each is dropped when its last session goes. */
  get trackedKeys(): number {
    return this.#byConn.size + this.#byIp.size;
  }

  override delete(id: string): boolean {
    const s = this.get(id);
    if (!s) return false;
    super.delete(id);
    s.admission?.release();
    return true;
  }

  override clear(): void {
    for (const s of this.values()) s.admission?.release();
    super.clear();
  }
}
