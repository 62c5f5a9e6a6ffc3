// One hub's part in a cluster of several hubs on Redis: it reads the shared table's log into the core, appends the core's changes, beats for its servers, holds or waits for the rotation lease, and sweeps servers whose hub died.
import type { Redis } from 'ioredis';
import type { TableSnapshot, VersionedDelta } from '../protocol/index.js';
import type { Logger } from '../log.js';
import type { RotationLease as CoreLease, SharedLiveness, SharedLog, SharedStreamClaims } from '../core/link.js';
import { SharedNonces, SharedStreamOwners } from './shared-guards.js';
import { SharedWhipStreams } from './shared-whip.js';
import { connectBlockingRedis, connectRedis, REDIS_COMMAND_TIMEOUT_MS, RedisProbe, whenRedisReady, within } from './connect.js';
import { HubClaim, type ClaimResult } from './hub-claim.js';
import { HubList, type HubInfo } from './hub-list.js';
import { RedisDeltaLog } from './delta-log.js';
import { SharedHeartbeats } from './heartbeats.js';
import { clusterKeys, DEFAULT_REDIS_PREFIX, type ClusterKeys } from './keys.js';
import { DEFAULT_LEASE_MS, LeaseKeeper, RotationLease } from './lease.js';

/** How long one blocking read of the log waits for news before it asks again. */
const READ_BLOCK_MS = 1_000;
/** How long one read of the hub list answers anonymous requests (`sharedHubs`), ms: a hub joining or leaving shows that much later there. */
export const HUB_LIST_FRESH_MS = 1_000;
/** Pause after a failed read (Redis away) before the next try. */
const READ_RETRY_MS = 250;

/** What the shared cluster drives in the hub core (`HubCore`). */
export interface SharedCore {
  readonly table: {
    readonly version: number;
    ids(): string[];
    get(id: string): { joinedAtMs: number } | undefined;
    snapshot(): TableSnapshot;
  };
  applyShared(batch: readonly VersionedDelta[]): 'applied' | 'gap';
  loadShared(snapshot: TableSnapshot): void;
  leaseChanged(): void;
  removeSilent(ids: readonly string[]): void;
  /** Ids of the servers connected to this hub. */
  localServers(): string[];
  /** Facts this hub publishes about itself (the dashboard's hub list). */
  hubStatus(): { url: string; clients: number; servers: number; attached: number };
}

export type { HubInfo } from './hub-list.js';

export interface SharedClusterOptions {
  url: string;
  hubId: string;
  prefix?: string;
  /** Servers' heartbeat period; a server is dead after `missedHeartbeats` × this without a beat through any hub. */
  heartbeatMs: number;
  missedHeartbeats: number;
  leaseMs?: number;
  /** `secretCheck(clusterSecret, prefix)`: hubs with another secret on this prefix are refused (`HubClaim`). */
  secretCheck: string;
  /** Another live process holds this hub's id now (this one stalled past its claim): see `HubOptions.onDisplaced`. */
  onDisplaced?: (err: Error) => void;
  log: Logger;
  now?: () => number;
}

export class SharedCluster {
  readonly hubId: string;
  readonly keys: ClusterKeys;
  /** Commands (fail fast: no offline queue, 1-s timeout). */
  readonly redis: Redis;
  readonly #blocking: Redis;
  readonly #deltaLog: RedisDeltaLog;
  readonly #beats: SharedHeartbeats;
  readonly #keeper: LeaseKeeper;
  readonly #probe: RedisProbe;
  readonly #hubList: HubList;
  /** The last read of the hub list, handed to anonymous requests for HUB_LIST_FRESH_MS (`sharedHubs`). */
  #hubsRead: { atMs: number; list: Promise<HubInfo[]> } | undefined;
  readonly #claim: HubClaim;
  /** What the last renewal of the claim found, so a change is logged once. */
  #claimState: ClaimResult = 'ok';
  readonly #o: SharedClusterOptions;
  readonly #now: () => number;
  readonly #ttlMs: number;
  #core: SharedCore | undefined;
  #stopped = false;
  #timers: NodeJS.Timeout[] = [];
  #reading: Promise<void> | undefined;
  #lastSnapshotVersion = 0;
  /** Servers found without a beat by the previous sweep: removed when the next finds them so again. */
  #suspects = new Set<string>();
  #wasReady = true;
  /** No sweep before this (ms): after Redis was away, every hub gets a TTL's time to beat for its servers again. */
  #sweepFromMs = 0;
  readonly #owners: SharedStreamOwners;
  /** Which hub relays each WHIP broadcast, and its resume window: a re-POST through any hub finds them. */
  readonly whipStreams: SharedWhipStreams;
  /** Stream id → key id of the key slots this hub's publishers hold (one per stream id reserved here). */
  /** The stream ids this hub holds a claim on, with the stream key each counts against (if any). */
  readonly #claimsHeld = new Map<string, string | undefined>();

  constructor(o: SharedClusterOptions) {
    this.#o = o;
    this.hubId = o.hubId;
    this.#now = o.now ?? Date.now;
    this.keys = clusterKeys(o.prefix ?? DEFAULT_REDIS_PREFIX);
    this.redis = connectRedis(o.url);
    this.#blocking = connectBlockingRedis(o.url, READ_BLOCK_MS);
    this.#deltaLog = new RedisDeltaLog(this.redis, this.keys);
    this.#probe = new RedisProbe(this.redis);
    this.#hubList = new HubList(this.redis, this.keys);
    this.#owners = new SharedStreamOwners(this.redis, this.keys);
    this.whipStreams = new SharedWhipStreams(this.redis, this.keys);
    this.#ttlMs = o.heartbeatMs * o.missedHeartbeats;
    this.#beats = new SharedHeartbeats(this.redis, this.keys, o.hubId, this.#ttlMs);
    this.#claim = new HubClaim(this.redis, this.keys, o.hubId, o.secretCheck, this.#ttlMs);
    const lease = new RotationLease(this.redis, this.keys, o.hubId, o.leaseMs ?? DEFAULT_LEASE_MS);
    this.#keeper = new LeaseKeeper(
      lease,
      (held, epoch) => {
        o.log.info({ hub: o.hubId, held, epoch }, held ? 'rotation lease taken' : 'rotation lease lost');
        this.#core?.leaseChanged();
      },
      this.#now,
    );
  }

  /** The shared table's log, as the core appends to it. */
  readonly log: SharedLog = {
    append: (deltas, fenced) => this.#deltaLog.append(deltas, fenced ? this.hubId : undefined),
  };

  /** A server whose connection here is gone is gone from the cluster unless it beats through another hub. */
  readonly liveness: SharedLiveness = {
    goneFromCluster: async (id) => {
      const [hub] = await this.#beats.hubsOf([id]);
      return hub === null || hub === undefined || hub === this.hubId;
    },
  };

  /** Beats for servers now (a registration), not at the next tick; a failure is left to the tick. */
  async beatNow(serverIds: readonly string[]): Promise<void> {
    await this.#beats.beat(serverIds).catch(() => undefined);
  }

  /** The hub each server beats through (null when it beats nowhere): where a message for it goes. */
  locate(serverIds: readonly string[]): Promise<(string | null)[]> {
    return this.#beats.hubsOf(serverIds);
  }

  /**
   * One owner per stream id across hubs, and at most so many ids per stream key; a claim's connection is
   * `<hubId>/<clientId>`. The claims of ids held here, and their keys' slots, are renewed every third of their lifetime.
   */
  get streamClaims(): SharedStreamClaims {
    const owners = this.#owners;
    const conn = (clientId: string) => `${this.hubId}/${clientId}`;
    return {
      claim: async (streamId, clientId, secret, proof, key) => {
        const c = await owners.claim(streamId, conn(clientId), secret, proof, key && { ...key, nowMs: this.#now() });
        if (!c.ok) return c;
        this.#claimsHeld.set(streamId, key?.keyId);
        return { ok: true, secret: c.secret };
      },
      release: (streamId, clientId, keyId) => {
        const held = keyId ?? this.#claimsHeld.get(streamId);
        this.#claimsHeld.delete(streamId);
        void owners.release(streamId, conn(clientId), held).catch(() => undefined);
      },
    };
  }

  async #renewClaims(): Promise<void> {
    const held = [...this.#claimsHeld].map(([streamId, keyId]) => (keyId === undefined ? { streamId } : { streamId, keyId }));
    await this.#owners.renew(held, this.#now()).catch(() => undefined);
  }

  /** The hub holding the rotation lease now, null when nobody does. */
  leaseHolder(): Promise<string | null> {
    return this.redis.get(this.keys.rotationLease);
  }

  /** Cluster-token nonces accepted by any hub (a token replayed on another hub is refused). */
  get nonces(): SharedNonces {
    return new SharedNonces(this.redis, this.keys);
  }

  /** The core rotates on its timer only while this hub holds the lease. */
  readonly lease: CoreLease = { held: (now) => this.#keeper.epoch(now) > 0 };

  /** Redis answered lately (a hung Redis is unreachable too); when not, the hub serves from its last table copy (health: degraded). */
  get ready(): boolean {
    return this.#probe.reachable;
  }

  get leaseHeld(): boolean {
    return this.#keeper.epoch() > 0;
  }

  /**
   * Connects and claims this hub's id under the cluster's secret, before anything reads or writes the cluster's keys:
   * rejects (the hub stops) when another live hub holds the id or runs with another secret — two hubs with one id
   * both held the rotation lease and read one inbox; a hub with another secret joined its servers to this table.
   */
  async claim(): Promise<void> {
    await Promise.all([whenRedisReady(this.redis), whenRedisReady(this.#blocking)]);
    await this.#claim.take();
  }

  /** Connects, loads the shared table and starts reading, beating and keeping the lease. Rejects when Redis is unreachable. */
  async start(core: SharedCore): Promise<void> {
    this.#core = core;
    await Promise.all([whenRedisReady(this.redis), whenRedisReady(this.#blocking)]);
    const { snapshot, read } = await this.#deltaLog.catchUp();
    if (snapshot) core.loadShared(snapshot);
    if (read.kind === 'deltas') core.applyShared(read.deltas);
    this.#probe.start();
    this.#reading = this.#readLoop();
    const every = (ms: number, run: () => void) => {
      const t = setInterval(run, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(this.#o.heartbeatMs, () => void this.#tick());
    every(this.#owners.ttlMs / 3, () => void this.#renewClaims());
    every(this.whipStreams.ttlMs / 3, () => void this.whipStreams.renew().catch(() => undefined));
    this.#keeper.start();
    await this.#tick();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers.splice(0)) clearInterval(t);
    const reachable = this.ready;
    this.#probe.stop();
    // Releasing the lease and leaving the hub list only shorten what the others wait for; a Redis that is
    // away (or hangs) must not hold the hub's exit: skipped when it is known away, else one command timeout at most.
    const leaving = Promise.all([
      this.#keeper.stop(),
      reachable ? this.#hubList.remove(this.hubId) : undefined,
      reachable ? this.#claim.release() : undefined,
    ]);
    await within(leaving, REDIS_COMMAND_TIMEOUT_MS);
    this.#blocking.disconnect();
    await within(this.#reading ?? Promise.resolve(), REDIS_COMMAND_TIMEOUT_MS);
    this.redis.disconnect();
  }

  /**
   * The live hubs of the cluster, from their own reports (each expires with its hub), read now. Rejects at once while
   * Redis is unreachable. Every read is also the one `sharedHubs()` hands out for the next HUB_LIST_FRESH_MS.
   */
  hubs(): Promise<HubInfo[]> {
    // A hung Redis would hold /api/config (anonymous) two command timeouts; its fallback (this hub alone) is the answer anyway.
    if (!this.ready) return Promise.reject(new Error('Redis unreachable'));
    const list = this.#hubList.list();
    const read = { atMs: this.#now(), list };
    this.#hubsRead = read;
    // A failed read is not handed out again: the next request reads anew.
    list.catch(() => {
      if (this.#hubsRead === read) this.#hubsRead = undefined;
    });
    return list;
  }

  /**
   * The hub list for anonymous requests (`/api/config`, a WHIP/WHEP resource request relayed to another hub): the
   * last read when it started less than HUB_LIST_FRESH_MS ago (requests meanwhile share it), else a new one. Before,
   * each such request read Redis (three commands): one address at the HTTP rate sent it 150 a second, and every
   * client of every hub adds to what all hubs share. Operator views and the hub's own uses read now (`hubs()`).
   */
  sharedHubs(): Promise<HubInfo[]> {
    const last = this.#hubsRead;
    const age = last ? this.#now() - last.atMs : Number.POSITIVE_INFINITY;
    if (last && this.ready && age >= 0 && age < HUB_LIST_FRESH_MS) return last.list;
    return this.hubs();
  }

  /** Reads the log for ever: applies each batch, loads a snapshot after a gap, waits out Redis outages. */
  async #readLoop(): Promise<void> {
    const core = this.#core!;
    while (!this.#stopped) {
      try {
        const r = await this.#deltaLog.readAfter(core.table.version, READ_BLOCK_MS, this.#blocking);
        if (r.kind === 'deltas' && (r.deltas.length === 0 || core.applyShared(r.deltas) === 'applied')) continue;
        // A gap: the log was trimmed past this hub's version. Start over from the newest snapshot.
        const { snapshot, read } = await this.#deltaLog.catchUp();
        if (snapshot) core.loadShared(snapshot);
        if (read.kind === 'deltas') core.applyShared(read.deltas);
      } catch {
        if (this.#stopped) return;
        await new Promise((r) => setTimeout(r, READ_RETRY_MS));
      }
    }
  }

  /** Once per heartbeat period: beat for our servers, say we are alive, and as lease holder sweep and snapshot. */
  async #tick(): Promise<void> {
    const core = this.#core!;
    const ready = this.ready;
    if (ready !== this.#wasReady) {
      this.#wasReady = ready;
      // Each hub sees Redis return at its own moment; beats that lapsed meanwhile prove nothing until each had time to beat.
      if (ready) this.#sweepFromMs = this.#now() + 2 * this.#ttlMs;
      if (ready) this.#o.log.info('Redis reachable again: hub back to normal');
      else this.#o.log.warn('Redis unreachable: serving from the last table copy (degraded); no server is declared dead meanwhile');
    }
    if (!ready) {
      this.#suspects.clear();
      return;
    }
    try {
      // Redis came back without its data (no persistence, flushed): carry the version sequence on from this table.
      if (core.table.version > (await this.#deltaLog.version()) && (await this.#deltaLog.reseed(core.table.snapshot())))
        this.#o.log.warn({ version: core.table.version }, 'Redis had lost the table log: reseeded it from this hub');
      await this.#renewClaim();
      const local = core.localServers();
      await this.#beats.beat(local);
      await this.#hubList.report(this.hubId, { ...core.hubStatus(), lastSeenMs: this.#now() }, this.#ttlMs);
      if (this.leaseHeld) await this.#leaseHolderDuties(new Set(local));
    } catch (err) {
      this.#o.log.warn({ err: (err as Error).message }, 'shared-cluster tick failed');
    }
  }

  /** After a Redis that lost its data, another hub may have taken this id or brought another secret first: say so, once. */
  async #renewClaim(): Promise<void> {
    const r = await this.#claim.renew();
    if (r === this.#claimState) return;
    this.#claimState = r;
    if (r === 'ok') this.#o.log.info({ hub: this.hubId }, 'hub id claimed again');
    else if (r === 'id' && this.#o.onDisplaced) {
      // Stalled past the claim (SIGSTOP, a paused VM) while a new process took the id: two hubs of one id would share
      // the lease and the inbox. The one that was away steps down.
      this.#o.log.error({ hub: this.hubId }, 'another process took this hub id while this one was stalled: stopping');
      this.#o.onDisplaced(
        new Error(
          `another live hub took the hub id "${this.hubId}" while this process was stalled; this one stops (the other keeps the id)`,
        ),
      );
    } else
      this.#o.log.error(
        { hub: this.hubId },
        r === 'id'
          ? 'another live hub on this Redis uses this hub id: give every hub its own --hub-id'
          : 'another hub on this Redis runs with a different cluster secret: one secret per cluster, or its own --redis-prefix',
      );
  }

  async #leaseHolderDuties(local: Set<string>): Promise<void> {
    const core = this.#core!;
    const now = this.#now();
    if (now < this.#sweepFromMs) this.#suspects.clear();
    else {
      // Servers on other hubs, old enough to have beaten once: those without a beat twice running are gone.
      const others = core.table.ids().filter((id) => !local.has(id) && now - (core.table.get(id)?.joinedAtMs ?? now) > this.#ttlMs);
      const expired = new Set(await this.#beats.expired(others));
      const gone = [...expired].filter((id) => this.#suspects.has(id));
      this.#suspects = expired;
      if (gone.length > 0) core.removeSilent(gone);
    }
    const v = core.table.version;
    if (v - this.#lastSnapshotVersion >= this.#deltaLog.snapshotEvery || (this.#lastSnapshotVersion === 0 && v > 0)) {
      await this.#deltaLog.saveSnapshot(core.table.snapshot());
      this.#lastSnapshotVersion = v;
    }
  }
}
