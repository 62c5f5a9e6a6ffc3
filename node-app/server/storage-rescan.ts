// What one storage rescan changes: nothing of a file that changed or went away is served again, and the hub hears of it.
import type { AssetInfo, OwnDelta } from '../../signaling/protocol/index.js';
import type { Logger } from '../../signaling/log.js';
import type { BlockCache } from '../cache/index.js';
import type { DiskStore } from '../storage/disk-store.js';
import type { WhepManager } from '../whep/whep-manager.js';
import { storageDeltas } from './own-deltas.js';
import type { ViewerSessions } from './viewer-sessions.js';

export interface RescanParts {
  store: DiskStore;
  cache: BlockCache;
  viewers: Pick<ViewerSessions, 'endStored'>;
  whep: Pick<WhepManager, 'endAsset'>;
  /** Sends the storage deltas to the hub. */
  report: (deltas: OwnDelta[]) => void;
  log: Logger;
}

/** Refreshes the store's listing and acts on what changed. */
export async function rescanStorage(p: RescanParts): Promise<void> {
  const { added, removed, changed, described, moving } = await p.store.refresh();
  // Nothing of a file that changed or went away may be served again: not its cached blocks, not the rest of a
  // session that started on it (the fd pool reads the path, so its next bytes would be the new file's), data
  // channel or WHEP.
  let ended = 0;
  // A file still moving is reported once still (as `changed`), but nothing read of it before may be served now.
  for (const id of [...removed, ...changed.map((a) => a.id), ...moving]) {
    p.cache.forget(id);
    ended += p.viewers.endStored(id, removed.includes(id)) + p.whep.endAsset(id);
  }
  const deltas = storageDeltas(added, described, removed, changed);
  if (deltas.length) {
    const ids = (l: AssetInfo[]) => l.map((a) => a.id);
    p.log.info({ added: ids(added), changed: ids(changed), described: ids(described), removed, ended }, 'storage changed');
    p.report(deltas);
  }
}
