// Where a `play` asks delivery to go: a byte offset as given, or the keyframe Cluster at or before a media time.
import { seekPointAt, type SeekIndex } from '../storage/seek-index.js';

export type PlayTarget =
  | { ok: true; offset: number; seek?: { seekMs: number; timeMs: number } }
  | { ok: false; code: 'not-seekable' | 'bad-request'; message: string };

/**
 * Resolves a play request. `index` is consulted only for a play by time; `size` is what the source
 * holds now. Pure.
 */
export function playTarget(
  req: { offset?: number; timeMs?: number },
  fallbackOffset: number,
  size: number,
  index: SeekIndex | undefined,
): PlayTarget {
  if (req.timeMs !== undefined) {
    if (!index)
      return { ok: false, code: 'not-seekable', message: 'this asset has no seek index (live, or not WebM with Clusters): play by offset' };
    const p = seekPointAt(index, req.timeMs);
    return { ok: true, offset: p.offset, seek: { seekMs: req.timeMs, timeMs: p.timeMs } };
  }
  const offset = req.offset ?? fallbackOffset;
  if (offset > size) return { ok: false, code: 'bad-request', message: `offset ${offset} is beyond the ${size} bytes available` };
  return { ok: true, offset };
}
