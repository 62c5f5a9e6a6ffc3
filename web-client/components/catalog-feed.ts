// The player's copy of the cluster catalog and the viewer count of what it plays, asked of the hub over its socket.
import type { CatalogEntry } from '../../signaling/protocol/messages.js';
import { ACK_TIMEOUT_MS, type ClientSocket } from './hub-socket.js';

export class CatalogFeed {
  /** Live streams first, then by id. */
  entries: CatalogEntry[] = [];
  loaded = false;
  error: string | null = null;
  readonly #changed: () => void;
  #inFlight = false;
  #viewersInFlight = false;

  constructor(changed: () => void) {
    this.#changed = changed;
  }

  entry(id: string | null): CatalogEntry | undefined {
    return id === null ? undefined : this.entries.find((a) => a.id === id);
  }

  async refresh(socket: ClientSocket | null): Promise<void> {
    if (!socket || this.#inFlight) return;
    this.#inFlight = true;
    try {
      const r = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('catalog');
      if (r.ok) {
        this.entries = [...r.assets].sort((a, b) => Number(b.live) - Number(a.live) || a.id.localeCompare(b.id));
        this.error = null;
        this.loaded = true;
      } else {
        this.error = r.message;
      }
    } catch {
      this.error = 'The hub did not answer the catalog request.';
    } finally {
      this.#inFlight = false;
      this.#changed();
    }
  }

  /** `assetId`'s viewer count, cluster-wide (its entry shows the same figure); undefined without an answer. */
  async viewersOf(socket: ClientSocket | null, assetId: string | null): Promise<number | undefined> {
    if (!socket || !assetId || this.#viewersInFlight) return undefined;
    this.#viewersInFlight = true;
    try {
      const r = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('viewers', { assetIds: [assetId] });
      const n = r.ok ? r.counts[0] : undefined;
      const i = this.entries.findIndex((a) => a.id === assetId);
      if (n !== undefined && i >= 0 && this.entries[i]!.viewers !== n)
        this.entries = this.entries.with(i, { ...this.entries[i]!, viewers: n });
      return n;
    } catch {
      return undefined; // no answer this time: the next poll asks again; the figure on screen stays
    } finally {
      this.#viewersInFlight = false;
    }
  }
}
