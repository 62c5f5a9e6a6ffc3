// Where the viewer was in each asset: kept in local storage (bounded) so that a reload or a later visit resumes there.
import { parseHash } from './hash-route.js';

/** Local-storage key of the saved positions. */
export const POSITIONS_KEY = 'baton.positions';
/** Assets whose position is kept; the least recently watched go first. */
export const MAX_SAVED_POSITIONS = 100;
/** Closer than this to the end counts as finished: the next visit starts over (seconds). */
export const FINISHED_WITHIN_S = 5;
/** Earlier than this is the start anyway: nothing to resume (seconds). */
export const MIN_RESUME_S = 2;

interface Saved {
  t: number;
  /** When it was saved (ms since the epoch): decides which entries go past the bound. */
  at: number;
}

/** Reads and writes positions in a Storage (window.localStorage); a full or unavailable storage is ignored. */
export class PlayPositions {
  readonly #storage: Pick<Storage, 'getItem' | 'setItem'> | null;

  constructor(storage: Pick<Storage, 'getItem' | 'setItem'> | null) {
    this.#storage = storage;
  }

  /** Seconds to resume `assetId` at, or null. */
  get(assetId: string): number | null {
    const s = this.#load()[assetId];
    return s && s.t >= MIN_RESUME_S ? s.t : null;
  }

  /** Remember `t` seconds into `assetId` (of `durationS`, when known); a finished asset is forgotten. */
  set(assetId: string, t: number, durationS: number | null, now: number): void {
    if (!Number.isFinite(t) || t < 0) return;
    const all = this.#load();
    if (t < MIN_RESUME_S || (durationS !== null && Number.isFinite(durationS) && t > durationS - FINISHED_WITHIN_S)) delete all[assetId];
    else all[assetId] = { t: Math.floor(t * 10) / 10, at: now };
    const ids = Object.keys(all).sort((a, b) => all[b]!.at - all[a]!.at);
    for (const id of ids.slice(MAX_SAVED_POSITIONS)) delete all[id];
    try {
      this.#storage?.setItem(POSITIONS_KEY, JSON.stringify(all));
    } catch {
      // Storage full or disabled: resuming is a convenience, playback goes on.
    }
  }

  #load(): Record<string, Saved> {
    let raw: unknown;
    try {
      raw = JSON.parse(this.#storage?.getItem(POSITIONS_KEY) ?? '{}');
    } catch {
      return Object.create(null) as Record<string, Saved>;
    }
    const out = Object.create(null) as Record<string, Saved>;
    if (!raw || typeof raw !== 'object') return out;
    for (const [id, v] of Object.entries(raw as Record<string, unknown>)) {
      const s = v as Partial<Saved> | null;
      if (s && typeof s.t === 'number' && Number.isFinite(s.t) && typeof s.at === 'number') out[id] = { t: s.t, at: s.at };
    }
    return out;
  }
}

/** Where to start `assetId`: the URL's `t=` when it names this asset, else the position saved for it. */
export function resumePoint(assetId: string, hash: string, positions: PlayPositions): number | null {
  const route = parseHash(hash);
  if (route.page === 'watch' && route.asset === assetId && route.t !== undefined) return route.t > 0 ? route.t : null;
  return positions.get(assetId);
}

/** The page's local storage, or null where it is disabled (privacy settings): positions are simply not kept. */
export function localStorageOrNull(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}
