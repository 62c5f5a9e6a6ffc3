// Helpers both cache policies share: change events, block rules, argument checks.
import type { CacheChange } from '../contracts.js';
import { CacheArgumentError } from './errors.js';
import type { StreamInfo } from './types.js';

type Listener = (change: CacheChange) => void;

/**
 * Collects asset-level transitions during one cache operation and reports the
 * net result once the operation is complete (so a listener always sees a
 * consistent cache, and an asset dropped and re-added in one step is no change).
 */
export class ChangeEmitter {
  readonly #listeners = new Set<Listener>();
  /** Assets that flipped an odd number of times in the current operation. */
  readonly #flipped = new Set<string>();
  #depth = 0;
  errors = 0;

  on(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** The asset went from holding nothing to something, or back. */
  flip(assetId: string): void {
    if (!this.#flipped.delete(assetId)) this.#flipped.add(assetId);
  }

  begin(): void {
    this.#depth++;
  }

  /** Ends an operation; the outermost one reports what changed. */
  end(holds: (assetId: string) => boolean): void {
    if (--this.#depth > 0) return;
    this.report(holds);
  }

  /**
   * Reports the net flips since the last report, if any. For an owner whose
   * operations never nest (a listener may start one only after the report has
   * taken the flips), called at the end of each operation instead of `begin`/`end`.
   */
  report(holds: (assetId: string) => boolean): void {
    if (this.#flipped.size === 0) return;
    const added: string[] = [];
    const removed: string[] = [];
    for (const id of this.#flipped) (holds(id) ? added : removed).push(id);
    this.#flipped.clear();
    const change: CacheChange = { added: added.sort(), removed: removed.sort() };
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch {
        // A listener's failure must not leave the cache half-updated or stop the others.
        this.errors++;
      }
    }
  }
}

/**
 * A block may be cached only when it is complete: a full block, or the final
 * (short) block of an asset that is no longer growing and whose size is known.
 */
export function isCompleteBlock(block: number, length: number, blockBytes: number, info: StreamInfo): boolean {
  if (length === blockBytes) return true;
  if (length <= 0 || length > blockBytes || info.live === true || info.assetBytes === undefined) return false;
  return block * blockBytes + length === info.assetBytes;
}

export function assertBlockIndex(block: number): void {
  if (!Number.isSafeInteger(block) || block < 0) throw new CacheArgumentError(`block index must be a non-negative integer, got ${block}`);
}

export function assertAssetId(assetId: string): void {
  if (typeof assetId !== 'string' || assetId.length === 0) throw new CacheArgumentError('asset id must be a non-empty string');
}

export function assertTime(now: number): void {
  if (!Number.isFinite(now)) throw new CacheArgumentError(`now must be a finite number of ms, got ${now}`);
}

export function assertBytes(bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new CacheArgumentError('block bytes must be a Uint8Array');
}
