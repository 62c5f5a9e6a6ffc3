// A media server's replica of the hub's state table: loaded at each registration, kept by the hub's deltas, resynced
// by a snapshot after a gap; and whether a change of it made this server the director, or no longer.
import { ReplicaFollower } from '../../common/replica-follower.js';
import type { StateTable, TableSnapshot } from '../../signaling/protocol/index.js';
import type { Logger } from '../../signaling/log.js';
import type { HubLink } from './hub-link.js';

export interface ServerReplicaParts {
  /** The link to the hub, once the server started. */
  hub: () => HubLink | undefined;
  /** This server is the director by the table now. */
  isDirector: () => boolean;
  /** A batch of deltas made this server the director, or no longer. */
  directorChanged: () => void;
  log: Logger;
}

export class ServerReplica {
  readonly #p: ServerReplicaParts;
  readonly #follower: ReplicaFollower;

  constructor(p: ServerReplicaParts) {
    this.#p = p;
    this.#follower = new ReplicaFollower({
      requestSnapshot: () => this.#requestSnapshot(),
      untrusted: { rejected: (what, why) => p.log.warn({ err: why }, `malformed ${what} from the hub dropped; asking for a snapshot`) },
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
    const wasDirector = this.#p.isDirector();
    this.#follower.offer(batch);
    if (wasDirector !== this.#p.isDirector()) this.#p.directorChanged();
  }

  #requestSnapshot(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const hub = this.#p.hub();
      if (!hub) return reject(new Error('not connected to the hub'));
      hub.requestSnapshot((snapshot) => (snapshot ? resolve(snapshot) : reject(new Error('the hub refused the resync'))));
    });
  }
}
