// The seam between the hub core and a transport: what the core needs from the wire, and nothing more.
//
// The core (membership, delta batching, liveness, rotation, routing, the session
// registry) never sees a socket. Production wires it to socket.io
// (`signaling/transport/`); the simulator (`test/sim/`) wires it to an in-memory
// network on a fake clock, so the sim drives this very code.
//
// Several hubs on Redis (issue 16, `baton hub --redis`; docs/multi-hub.md) plug in at narrow seams,
// implemented in `signaling/redis/` and passed in by `signaling/hub.ts`:
// - **SharedLog.** With one, the core stamps no versions: `DeltaFeed` appends each batch
//   to the one ordered log, and every hub applies what it reads back (`HubCore.applyShared`,
//   `StateTable.offer`, as a media server's replica does), then publishes it to its own
//   servers and dashboards through `HubLink.publishDeltas`.
// - **RotationLease.** The core moves the baton on its timer only while
//   `RotationLease.held(now)`; one hub alone holds it always (`SOLE_HUB_LEASE`). Failure
//   rotations need no lease: the director epoch fences a second hub doing the same.
// - **ServerPeer.** A request to a server is `ServerPeer.ask` with a timeout; a server
//   connected to another hub is a peer whose `ask` travels through the hubs' mesh or the
//   socket.io adapter's room. The core never asks which hub a server is on.
// - **SharedLiveness, SharedStreamClaims**: whether a server is gone from the whole cluster,
//   and one owner per stream id across hubs.
import type { DecisionEvent, Delta, VersionedDelta } from '../protocol/index.js';

/** One media server's connection, as the core holds it. */
export interface ServerPeer {
  /** Fire and forget (`signal`, `session-close`, `whip-*`): dropped if the connection is gone. */
  send(event: string, msg: unknown): void;
  /**
   * Ask and wait at most `timeoutMs`. Resolves with the answer as it came off the
   * wire (the caller parses it); rejects when the time is up or the peer is gone.
   */
  ask(event: string, msg: unknown, timeoutMs: number): Promise<unknown>;
  /** False once the transport knows the connection is gone (a half-open one may still say true). */
  readonly connected: boolean;
  /** Ends the connection: it expired, or a newer connection of the same server replaces it. */
  disconnect(): void;
  /**
   * Several hubs, the director on another hub: asks it to `select` and has its hub open the session
   * (`open`) on the chosen server when that hub holds the server too — one crossing between hubs for
   * both. `opened` runs with the select answer when the session was offered there, before any message
   * of the server's about it reaches this hub. Absent where the select and the open cost no crossing.
   */
  selectThenOpen?(
    select: unknown,
    timeoutMs: number,
    open: { sessionId: string },
    openTimeoutMs: number,
    opened: (answer: unknown) => void,
  ): Promise<SelectThenOpen>;
}

/** What `ServerPeer.selectThenOpen` brings back: the director's answer, and the server's when it was offered the session. */
export interface SelectThenOpen {
  select: unknown;
  open?: { ok: true; value: unknown } | { ok: false; error: string };
}

/** What a client hears about one of its sessions. */
export type ClientEvent = 'signal' | 'session-close';
export interface ClientMessage {
  sessionId: string;
  data?: unknown;
  reason?: string;
}

/** Fan-out from the core: to every registered server, every dashboard, one client. */
export interface HubLink {
  /** One batch of committed deltas, in version order, to every registered server and every dashboard. */
  publishDeltas(batch: VersionedDelta[]): void;
  /** A routing or rotation decision (already in its public form) for the dashboards. */
  publishDecision(decision: DecisionEvent): void;
  /** A client is a browser's connection or a WHIP broadcast relayed by its primary server. */
  toClient(clientId: string, event: ClientEvent, msg: ClientMessage): void;
  /**
   * Several hubs: a server in the table connected to another hub, as a peer reached through
   * the hubs' shared transport (undefined when the link cannot reach other hubs).
   */
  remotePeer?(serverId: string): ServerPeer | undefined;
}

/** Time as the core sees it: the real clock in production, a fake one in the simulator. */
export interface HubClock {
  now(): number;
  /** Runs `run` every `ms`; returns a cancel function. */
  every(ms: number, run: () => void): () => void;
  /** Runs `run` once the current turn's work is done: the window in which deltas are batched. */
  soon(run: () => void): void;
}

/** Whether this hub may rotate the director on its timer now (see the header). */
export interface RotationLease {
  held(now: number): boolean;
}

/** A hub alone holds the lease for ever. */
export const SOLE_HUB_LEASE: RotationLease = Object.freeze({ held: () => true });

/** The Node event loop as a `HubClock`: intervals, and `setImmediate` for one turn's batching. */
export const NODE_CLOCK: HubClock = Object.freeze({
  now: () => Date.now(),
  every: (ms: number, run: () => void) => {
    const t = setInterval(run, ms);
    return () => clearInterval(t);
  },
  soon: (run: () => void) => void setImmediate(run),
});

/**
 * Several hubs (issue 16): the one ordered log of the shared table (`signaling/redis/`). The log
 * hands out the global versions; every hub applies what it reads back (`HubCore.applyShared`).
 */
export interface SharedLog {
  /**
   * Appends in order and returns the versions given. `fenced`: only while this hub holds the
   * rotation lease (director changes on the timer). Rejects when unreachable or fenced; nothing is appended then.
   */
  append(deltas: Delta[], fenced: boolean): Promise<number[]>;
}

/** Several hubs: liveness as the whole cluster sees it. */
export interface SharedLiveness {
  /**
   * Whether server `id`, whose connection to this hub is gone, is gone from the cluster: false
   * when it beats through another hub now (it moved). Rejects while that cannot be known.
   */
  goneFromCluster(id: string): Promise<boolean>;
}

/** Several hubs: one owner per stream id across the cluster (an atomic claim in Redis). */
export interface SharedStreamClaims {
  /**
   * Claims `streamId` for `clientId` of this hub with `secret`: ok with the id's secret (the
   * proven one when `proof` matches an earlier claim), or not ok when another publisher holds it
   * (`owned`) or, for an id new to the cluster, when `key` already holds its `max` ids (`key-full`).
   * Rejects while Redis is unreachable.
   */
  claim(
    streamId: string,
    clientId: string,
    secret: string,
    proof: string | undefined,
    key?: { keyId: string; max: number },
  ): Promise<{ ok: true; secret: string } | { ok: false; reason: 'owned' | 'key-full' }>;
  release(streamId: string, clientId: string, keyId?: string): void;
}
