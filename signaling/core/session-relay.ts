// The hub's open sessions and the signaling relay between each session's client and server.
import type { SignalMessage } from '../protocol/index.js';
import { StreamOwners } from '../stream-owners.js';
import { SessionRegistry, type Admission, type SessionLimits } from './session-registry.js';
import type { HubLink } from './link.js';
import type { Membership } from './membership.js';

export interface Session {
  id: string;
  kind: 'watch' | 'publish';
  clientSocketId: string;
  serverId: string;
  assetId: string;
  /** Publish sessions: which entry server of the pair this is. */
  role?: 'primary' | 'backup';
  /** Watch sessions: its place in its client's session counts (`SessionRegistry`). */
  admission?: Admission;
}

/**
 * Sessions closed lately, remembered so that a close crossing ours (the server
 * ends a finished broadcast while its broadcaster leaves) is not taken for a
 * message from an outsider. Session ids are the hub's own; the oldest go first.
 */
export const RECENTLY_CLOSED_SESSIONS = 1024;

/** What became of a message about a session: relayed/closed, crossed a close already made, or from an outsider. */
export type RelayOutcome = 'done' | 'crossed' | 'not-party';

export class SessionRelay {
  readonly sessions: SessionRegistry<Session>;
  /** Stream ids reserved by a publisher (one owner per id); released when its last publish session ends. */
  readonly owners = new StreamOwners();
  readonly #recentlyClosed = new Map<string, Session>();
  readonly #link: HubLink;
  readonly #members: Membership;

  constructor(o: { link: HubLink; members: Membership; limits: Partial<SessionLimits> }) {
    this.sessions = new SessionRegistry(o.limits);
    this.#link = o.link;
    this.#members = o.members;
  }

  /** A client's signal to its session's server. */
  fromClient(clientId: string, msg: SignalMessage): RelayOutcome {
    const s = this.sessions.get(msg.sessionId);
    if (!s || s.clientSocketId !== clientId) return 'not-party';
    this.#members.peer(s.serverId)?.send('signal', msg);
    return 'done';
  }

  /** A server's signal to its session's client. */
  fromServer(serverId: string, msg: SignalMessage): RelayOutcome {
    const s = this.sessions.get(msg.sessionId);
    if (!s || s.serverId !== serverId) return 'not-party';
    this.#link.toClient(s.clientSocketId, 'signal', msg);
    return 'done';
  }

  /** The client leaves one of its sessions; its server is told. */
  leave(clientId: string, sessionId: string): RelayOutcome {
    const s = this.sessions.get(sessionId);
    if (!s && this.#recentlyClosed.get(sessionId)?.clientSocketId === clientId) return 'crossed';
    if (!s || s.clientSocketId !== clientId) return 'not-party';
    this.close(s, 'client-left');
    return 'done';
  }

  /** The server ended one of its sessions; its client is told. */
  closedByServer(serverId: string, sessionId: string): RelayOutcome {
    const s = this.sessions.get(sessionId);
    if (!s && this.#recentlyClosed.get(sessionId)?.serverId === serverId) return 'crossed';
    if (!s || s.serverId !== serverId) return 'not-party';
    this.#forget(s);
    this.#releaseIfIdle(s);
    this.#link.toClient(s.clientSocketId, 'session-close', { sessionId: s.id, reason: 'closed-by-server' });
    return 'done';
  }

  /** The session's WebRTC connection is up: it no longer counts against its client's unconnected sessions. */
  connected(serverId: string, sessionId: string): RelayOutcome {
    const s = this.sessions.get(sessionId);
    if (!s || s.serverId !== serverId) return 'not-party';
    s.admission?.connect();
    return 'done';
  }

  /** Ends a session at the hub and tells its server. */
  close(s: Session, reason: string): void {
    this.#forget(s);
    this.#releaseIfIdle(s);
    this.#members.peer(s.serverId)?.send('session-close', { sessionId: s.id, reason });
  }

  /** Ends every session of a client (its connection is gone, or a WHIP broadcast ended). */
  closeClient(clientId: string, reason: string): void {
    for (const s of [...this.sessions.values()]) if (s.clientSocketId === clientId) this.close(s, reason);
  }

  hasSessions(clientId: string): boolean {
    for (const s of this.sessions.values()) if (s.clientSocketId === clientId) return true;
    return false;
  }

  /** A server left the table: its clients are told to move. */
  serverGone(serverId: string): void {
    for (const s of this.sessions.values()) {
      if (s.serverId !== serverId) continue;
      this.sessions.delete(s.id);
      this.#releaseIfIdle(s);
      this.#link.toClient(s.clientSocketId, 'session-close', { sessionId: s.id, reason: 'server-gone' });
    }
  }

  /** Open publish sessions of one stream. */
  publishing(streamId: string): Session[] {
    return [...this.sessions.values()].filter((s) => s.kind === 'publish' && s.assetId === streamId);
  }

  /** A stream id stays reserved while any publish session of it is open here. */
  releaseIfUnused(streamId: string): void {
    if (this.publishing(streamId).length === 0) this.owners.release(streamId);
  }

  counts(): { watch: number; publish: number } {
    const c = { watch: 0, publish: 0 };
    for (const s of this.sessions.values()) c[s.kind]++;
    return c;
  }

  #releaseIfIdle(gone: Session): void {
    if (gone.kind === 'publish') this.releaseIfUnused(gone.assetId);
  }

  #forget(s: Session): void {
    this.sessions.delete(s.id);
    this.#recentlyClosed.set(s.id, s);
    if (this.#recentlyClosed.size > RECENTLY_CLOSED_SESSIONS) this.#recentlyClosed.delete(this.#recentlyClosed.keys().next().value!);
  }
}
