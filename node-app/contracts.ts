// Interfaces between the media server's parts: storage, cache, delivery.
import type { AssetInfo } from '../signaling/protocol/types.js';

/** Cache blocks and storage reads are aligned to this size (bytes). */
export const BLOCK_BYTES = 64 * 1024;

/** Disk storage of assets, strictly inside one root directory. */
export interface BlockStore {
  /** Catalog entry, or undefined for an unknown (or invalid) id. */
  stat(assetId: string): AssetInfo | undefined;
  list(): AssetInfo[];
  /**
   * Read up to `length` bytes at `offset`. Returns fewer bytes at the end of the
   * asset (an empty array past it). Rejects with code `unknown-asset` for ids that
   * are invalid or not stored. For a live (growing) asset, reads what is there now.
   */
  read(assetId: string, offset: number, length: number): Promise<Uint8Array>;
  /**
   * Which file backs the id now (a token, such as its inode and size), or undefined when none does: a reader that
   * sees it differ from the one at its start reads another file, or the same file rewritten, under the same id.
   */
  identity?(assetId: string): string | undefined;
  /** Total bytes read from disk since start (for metrics and the state table). */
  readonly bytesRead: number;
}

/**
 * A per-session view of one asset's bytes, as delivery sees it: the cache and
 * storage decide where each byte comes from.
 */
export interface ByteSource {
  readonly assetId: string;
  /** Bytes available now; grows while an asset is live. */
  size(): number;
  /** True while the asset is still being ingested (more bytes will come). */
  isLive(): boolean;
  /** Read up to `length` bytes at `offset` (block-aligned reads are cheapest). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Release everything this session holds (idempotent). */
  close(): void;
  /**
   * Live sources: resolves when `size()` may have grown (or the stream ended), or after `timeoutMs` at the
   * latest, so a reader at the edge is woken by the write rather than by its next poll.
   */
  grown?(timeoutMs: number): Promise<void>;
  /**
   * Set for a live late joiner: its session bytes past the init segment are
   * file bytes from `joinedAt` on (file offset = session offset + `skipBytes`),
   * told to the viewer so that it resumes elsewhere at the right file offset.
   */
  readonly joinedAt?: number;
  readonly skipBytes?: number;
  /** A live stream's start (ms since the epoch): media time 0 on the wall clock, told to viewers for their latency. */
  readonly startedAtMs?: number;
  /**
   * Live sources: the stream's average bitrate since its publish started on the cluster's clock (bits/s; never the
   * publisher's Timecodes), undefined in its first second: what a session reading far behind the edge is paced by.
   */
  averageBps?(): number | undefined;
}

/** What changed in a cache's contents, for state-table deltas. */
export interface CacheChange {
  added: string[];
  removed: string[];
}
