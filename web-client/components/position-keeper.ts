// Keeps the playhead's position in local storage and the URL (`t=`), so a reload or a shared link resumes there.
import { hrefFor, parseHash } from './hash-route.js';
import { PlayPositions, localStorageOrNull, resumePoint } from './play-position.js';

/** The position is written to the URL and local storage at most this often (ms). */
const POSITION_SAVE_MS = 1_000;

export class PositionKeeper {
  readonly #positions = new PlayPositions(localStorageOrNull());
  #savedAt = 0;

  /** Where a playback of `assetId` starts (s): the URL's `t=`, else the position saved, else null (the start). */
  resumePoint(assetId: string): number | null {
    return resumePoint(assetId, location.hash, this.#positions);
  }

  /** Notes where `video` is in `assetId`: at most every POSITION_SAVE_MS, but always at the end (`ended`). */
  note(assetId: string, video: HTMLVideoElement, ended: boolean): void {
    const now = Date.now();
    if (!ended && now - this.#savedAt < POSITION_SAVE_MS) return;
    this.#savedAt = now;
    const t = video.ended ? video.duration : video.currentTime;
    this.#positions.set(assetId, t, Number.isFinite(video.duration) ? video.duration : null, now);
    const route = parseHash(location.hash);
    if (route.page === 'watch' && route.asset === assetId)
      history.replaceState(history.state, '', hrefFor('watch', assetId, video.ended ? undefined : t));
  }
}
