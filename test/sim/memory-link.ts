// The hub core's link for simulations: the real HubCore, its wire replaced by the simulated network on the fake clock.
import { pino } from 'pino';
import { HubCore } from '../../signaling/core/hub-core.js';
import type { HubClock, HubLink, ServerPeer } from '../../signaling/core/link.js';
import type { DirectorInfo, OwnDelta, ServerDescriptor, TableSnapshot, VersionedDelta } from '../../signaling/protocol/types.js';
import type { FakeClock } from './fake-clock.js';
import { deepFreeze, newChannel, type Network } from './sim-network.js';

export const HEARTBEAT_MS = 1_000;
export { DEFAULT_MISSED_HEARTBEATS as MISSED_HEARTBEATS } from '../../signaling/policies/liveness.js';
export const LIVENESS_CHECK_MS = 250;
/** Longer than failure detection (3 heartbeats + one check), so a failover is never pre-empted by the timer. */
export const ROTATION_MS = 4_000;
/** The core batches deltas for one turn; in the sim a turn lasts this long. */
export const FLUSH_MS = 10;

/** What a simulated media server hears from the hub. */
export interface SimServer {
  readonly id: string;
  onDeltas(batch: readonly VersionedDelta[]): void;
  onSnapshot(snapshot: TableSnapshot): void;
  onHeartbeatAck(hubVersion: number): void;
  onRegisterRefused(): void;
}

export interface DirectorChange {
  previous: DirectorInfo | null;
  director: DirectorInfo;
  reason: string;
  /** Sorted ids in the table when the baton moved. */
  ids: string[];
}

export interface Removal {
  id: string;
  atMs: number;
  lastSeenMs: number;
  reason: string;
}

/** One simulated connection: what the core holds as a peer, and whether the hub still hears it. */
class MemoryPeer implements ServerPeer {
  connected = true;
  registered = false;
  /** Hub → server and server → hub: each in order, as one socket.io connection. */
  readonly down = newChannel();
  readonly up = newChannel();
  constructor(
    readonly server: SimServer,
    private readonly onDisconnect: (p: MemoryPeer) => void,
  ) {}
  // The simulated servers play no sessions: the sim is about membership, rotation and replication.
  send(): void {}
  ask(event: string): Promise<unknown> {
    return Promise.reject(new Error(`the simulated server ${this.server.id} answers no ${event}`));
  }
  disconnect(): void {
    if (!this.connected) return;
    this.connected = false;
    this.onDisconnect(this);
  }
}

/**
 * The real hub core on an in-memory link: delta batches go to every registered
 * server over the lossy network, requests and replies over the reliable one.
 * A connection the hub dropped hears nothing more, and is heard no more.
 */
export class SimHub implements HubLink {
  readonly core: HubCore;
  readonly directorLog: DirectorChange[] = [];
  readonly removals: Removal[] = [];
  readonly #room = new Set<MemoryPeer>();
  readonly #peers = new Map<SimServer, MemoryPeer>();

  constructor(
    private readonly clock: FakeClock,
    private readonly net: Network,
  ) {
    const hubClock: HubClock = {
      now: () => clock.now,
      every: (ms, run) => clock.every(ms, run),
      soon: (run) => clock.after(FLUSH_MS, run),
    };
    this.core = new HubCore({
      link: this,
      clock: hubClock,
      log: pino({ level: 'silent' }),
      heartbeatMs: HEARTBEAT_MS,
      livenessCheckMs: LIVENESS_CHECK_MS,
      rotationMs: ROTATION_MS,
      directorTimeoutMs: 500,
      publish: { streamKeys: [], streamKeySecret: undefined, resolveLocation: () => null, ipPlace: () => null },
      observe: {
        directorChanged: (c) => {
          if (c.director)
            this.directorLog.push({ previous: c.previous, director: c.director, reason: c.reason, ids: this.core.table.ids().sort() });
        },
        serverRemoved: (r) => this.removals.push(r),
      },
    });
    this.core.start();
  }

  get table() {
    return this.core.table;
  }

  /** No delta waiting for the next batch. */
  get idle(): boolean {
    return this.core.feed.idle;
  }

  get registered(): number {
    return this.core.members.size;
  }

  // ---- HubLink -------------------------------------------------------------------

  publishDeltas(batch: VersionedDelta[]): void {
    const frozen = deepFreeze(batch);
    for (const p of this.#room) this.net.send(() => p.connected && p.server.onDeltas(frozen), 'lossy-state', p.down);
  }

  publishDecision(): void {}

  toClient(): void {}

  // ---- what a simulated server sends --------------------------------------------

  register(server: SimServer, descriptor: ServerDescriptor): void {
    const peer = this.#peer(server);
    this.net.send(
      () => {
        if (!peer.connected || peer.registered) return;
        const r = this.core.register(peer, descriptor, silent);
        if (!r.ok) return this.net.send(() => server.onRegisterRefused(), 'control', peer.down);
        peer.registered = true;
        this.#room.add(peer);
        this.net.send(() => server.onSnapshot(r.snapshot), 'state', peer.down);
      },
      'state',
      peer.up,
    );
  }

  heartbeat(server: SimServer): void {
    const peer = this.#peer(server);
    this.net.send(
      () => {
        if (!peer.registered || !peer.connected) return;
        const version = this.core.heartbeat(server.id, peer);
        if (version !== null) this.net.send(() => server.onHeartbeatAck(version), 'control', peer.down);
      },
      'control',
      peer.up,
    );
  }

  report(server: SimServer, own: OwnDelta): void {
    const peer = this.#peer(server);
    this.net.send(() => peer.registered && peer.connected && this.core.report(server.id, [own]), 'control', peer.up);
  }

  resync(server: SimServer): void {
    const peer = this.#peer(server);
    this.net.send(
      () => {
        if (!peer.connected) return;
        const snapshot = this.core.snapshot();
        this.net.send(() => server.onSnapshot(snapshot), 'state', peer.down);
      },
      'state',
      peer.up,
    );
  }

  /** The server closes its connection (an orderly leave). */
  leave(server: SimServer): void {
    const peer = this.#peer(server);
    this.net.send(() => peer.disconnect(), 'control', peer.up);
  }

  #peer(server: SimServer): MemoryPeer {
    let p = this.#peers.get(server);
    if (!p) {
      p = new MemoryPeer(server, (gone) => {
        this.#room.delete(gone);
        this.#peers.delete(server);
        this.core.serverDisconnected(server.id, gone, 'left');
      });
      this.#peers.set(server, p);
    }
    return p;
  }
}

const silent = pino({ level: 'silent' });
