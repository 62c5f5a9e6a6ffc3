// The ids one registered server lists in its row of the table (stored, cached, live), kept by the hub it registered
// with so a report cannot grow the row past what a registration may list. Every replica (media servers, dashboards,
// other hubs) parses a snapshot's rows with the registration's schema: before, a server that reported more (a
// compromised one, or an honest one with more files than that) made every snapshot malformed for all of them, each
// dropping it and asking again for ever (found by review attackb30).
import { MAX_ASSETS_PER_MESSAGE, MAX_LIVE_PER_MESSAGE, type OwnDelta, type ServerDescriptor } from '../protocol/index.js';

/** The most entries of each list one server's row holds: what one registration may carry. */
export const MAX_ROW_STORAGE = MAX_ASSETS_PER_MESSAGE;
export const MAX_ROW_CACHE = MAX_ASSETS_PER_MESSAGE;
export const MAX_ROW_LIVE = MAX_LIVE_PER_MESSAGE;

type ListName = 'storage' | 'cache' | 'live';
const BOUNDS: Readonly<Record<ListName, [max: number, what: string]>> = {
  storage: [MAX_ROW_STORAGE, 'stored assets'],
  cache: [MAX_ROW_CACHE, 'cached assets'],
  live: [MAX_ROW_LIVE, 'live streams'],
};

export class RowLists {
  readonly #lists: Record<ListName, Set<string>>;

  constructor(d: Pick<ServerDescriptor, 'storage' | 'cache' | 'live'>) {
    this.#lists = {
      storage: new Set(d.storage.map((a) => a.id)),
      cache: new Set(d.cache),
      live: new Set(d.live.map((l) => l.id)),
    };
  }

  /**
   * Takes `delta` into the lists, or leaves them unchanged and returns why it would take a row past its bound.
   * Removals and deltas about no list are always taken; an id already listed is not counted again.
   */
  take(delta: OwnDelta): string | undefined {
    const added = addedIds(delta);
    if (!added) {
      for (const [name, ids] of removedIds(delta)) for (const id of ids) this.#lists[name].delete(id);
      return undefined;
    }
    const [name, ids] = added;
    const list = this.#lists[name];
    const fresh = new Set(ids.filter((id) => !list.has(id)));
    const [max, what] = BOUNDS[name];
    if (list.size + fresh.size > max)
      return `${delta.type} of ${fresh.size} new refused: the server would list ${list.size + fresh.size} ${what} (at most ${max} a server)`;
    for (const id of fresh) list.add(id);
    return undefined;
  }
}

function addedIds(d: OwnDelta): [ListName, string[]] | undefined {
  if (d.type === 'storage-add') return ['storage', d.assets.map((a) => a.id)];
  if (d.type === 'cache-add') return ['cache', d.assets];
  if (d.type === 'live') return ['live', [d.stream.id]];
  return undefined;
}

function removedIds(d: OwnDelta): [ListName, readonly string[]][] {
  if (d.type === 'storage-remove') return [['storage', d.assets]];
  if (d.type === 'cache-remove') return [['cache', d.assets]];
  if (d.type === 'live-remove') return [['live', [d.assetId]]];
  return [];
}
