// A media server's poster pictures: ffmpeg makes them in the background; one whose asset's copy here is gone goes too.
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import type { Logger } from '../../signaling/log.js';
import { PosterMaker } from '../storage/poster-maker.js';
import type { DiskStore } from '../storage/disk-store.js';

export interface ServerPostersOptions {
  /** The store (created after the maker, which the store is given: read when a poster is done). */
  store: () => DiskStore;
  /** The asset is being written by a live broadcast here. */
  writing: (id: string) => boolean;
  /** A live stream's poster shows in its `live` entry at once (a stored asset's at the next scan). */
  posterMade: (id: string, token: string) => void;
  log: Logger;
}

/** The poster maker of one server, wired to drop what it finishes for an asset that failed meanwhile. */
export function serverPosters(o: ServerPostersOptions): PosterMaker {
  return new PosterMaker({
    made: (id) => {
      const store = o.store();
      // Its stream failed (and was removed) while ffmpeg ran: no trace of it stays.
      if (!o.writing(id) && !existsSync(store.pathOf(id) ?? '')) return dropPoster(store, id);
      o.log.info({ asset: id }, 'poster made');
      void store.posterToken(id).then((token) => token && o.posterMade(id, token));
    },
    failed: (id, message) => o.log.warn({ asset: id, err: message }, 'no poster for this asset'),
    deferred: (id, message) => o.log.warn({ asset: id, err: message }, 'poster waits: the disk refused it'),
  });
}

/** Removes a poster this server made (its asset's copy here is gone). */
export function dropPoster(store: DiskStore, id: string): void {
  const path = store.posterPathOf(id);
  if (path) void unlink(path).catch(() => undefined);
}
