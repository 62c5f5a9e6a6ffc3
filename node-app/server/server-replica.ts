// A media server's replica of the hub's state table: loaded at each registration, kept by the hub's deltas, resynced
// by a snapshot after a gap; and whether a change of it made this server the director, or no longer. Every way the
// replica changes (a batch of deltas, the snapshot of a re-registration, a resync's answer) is checked against the
// role last reported: a server frozen past its liveness timeout comes back to a snapshot naming another director,
// and must say it no longer is one.
import { ReplicaFollower } from '../../common/replica-follower.js';
import type { StateTable, TableSnapshot } from '../../signaling/protocol/index.js';
import type { Logger } from '../../signaling/log.js';
import type { HubLink } from './hub-link.js';

export interface ServerReplicaParts {
  /** The link to the hub, once the server started. */
  hub: () => HubLink | undefined;
  /** This server is the director by the table now. */
  isDirector: () => boolean;
  /** A change of the replica (deltas, registration, resync) made this server the director, or no longer. */
  directorChanged: () => void;
  log: Logger;
}

export class ServerReplica {
  readonly #p: ServerReplicaParts;
  readonly #follower: ReplicaFollower;
  /** The role last reported through `directorChanged` (a server starts as no director). */
  #reported = false;

  constructor(p: ServerReplicaParts) {
    this.#p = p;
    this.#follower = new ReplicaFollower({
      requestSnapshot: () => this.#requestSnapshot(),
      untrusted: { rejected: (what, why) => p.log.warn({ err: why }, `malformed ${what} from the hub dropped; asking for a snapshot`) },
      onChange: () => this.#noticeRole(),
      onResync: (e) => {
        if (e.phase === 'started') p.log.warn({ version: e.version }, 'gap in deltas; asking for a snapshot');
      },
    });
  }

  get table(): StateTable {
    return this.#follower.table;
  }

  /** The hub accepted the registration with its table `raw`: the snapshot loaded, or null when it was malformed. */
  register(raw: unknown): TableSnapshot | null {
    const snapshot = this.#follower.load(raw);
    this.#p.log.info(snapshot ? { version: snapshot.version, servers: snapshot.servers.length } : {}, 'registered with hub');
    return snapshot;
  }

  /** A batch of deltas from the hub. */
  offer(batch: unknown): void {
    this.#follower.offer(batch);
  }

  #noticeRole(): void {
    const now = this.#p.isDirector();
    if (now === this.#reported) return;
    this.#reported = now;
    this.#p.directorChanged();
  }

  #requestSnapshot(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const hub = this.#p.hub();
      if (!hub) return reject(new Error('not connected to the hub'));
      hub.requestSnapshot((snapshot) => (snapshot ? resolve(snapshot) : reject(new Error('the hub refused the resync'))));
    });
  }
}
