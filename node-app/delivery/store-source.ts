// A ByteSource read straight from a BlockStore (no cache): the simplest source a session can use.
import type { BlockStore, ByteSource } from '../contracts.js';
import { StorageError, StorageErrorCode } from '../storage/errors.js';

export interface StoreSourceOptions {
  /** Whether the asset is still being ingested; default: never live. */
  isLive?: () => boolean;
}

/** Reads `assetId` from `store`; size and liveness are asked afresh on every call. */
export function createStoreSource(store: BlockStore, assetId: string, opts: StoreSourceOptions = {}): ByteSource {
  let closed = false;
  return {
    assetId,
    size: () => (closed ? 0 : (store.stat(assetId)?.bytes ?? 0)),
    isLive: () => !closed && (opts.isLive?.() ?? false),
    read: (offset, length) => {
      if (closed) return Promise.reject(new StorageError(StorageErrorCode.closed, 'source is closed'));
      return store.read(assetId, offset, length);
    },
    close: () => {
      closed = true;
    },
  };
}
