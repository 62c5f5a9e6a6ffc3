// What each `play` of a viewer's session asks: where to send from, whether it only confirms where the session opened,
// and whether a restart earns a fresh burst; a restart past the session's budget is refused (restart-policy.ts).
import type { ClientControl } from '../../signaling/protocol/frames.js';
import type { SeekIndex } from '../storage/seek-index.js';
import { playTarget } from './play-target.js';
import { MAX_RESTARTS_PER_WINDOW, RESTART_WINDOW_MS, RestartPolicy } from './restart-policy.js';

/** A play's answer: refused (the code and message of the error frame the viewer gets), or where to send from. */
export type PlayPlan =
  | { ok: false; code: string; message: string }
  | {
      ok: true;
      offset: number;
      /** A play by time: the time asked for and the start point's (the meta frame says both). */
      seek?: { seekMs: number; timeMs: number };
      /** The viewer's first play, at the place the session opened: nothing moves. */
      confirm: boolean;
      /** The restart gets a fresh fast-start burst (else the pacing budget carries over). */
      burst: boolean;
    };

/** One session's plays: its opening offset, whether a play came yet, its restarts. */
export class PlayRequests {
  readonly #sessionOffset: number;
  readonly #now: () => number;
  readonly #restarts = new RestartPolicy();
  #seen = false;

  constructor(sessionOffset: number, now: () => number) {
    this.#sessionOffset = sessionOffset;
    this.#now = now;
  }

  /** The session started streaming: its first run counts as a burst. */
  started(): void {
    this.#restarts.started(this.#now());
  }

  /** Answers `msg`; `size` is what the source holds now, `index` its seek index (for a play by time). */
  plan(msg: Extract<ClientControl, { t: 'play' }>, size: number, index: SeekIndex | undefined): PlayPlan {
    const target = playTarget(msg, this.#sessionOffset, size, index);
    if (!target.ok) return target;
    const { offset, seek } = target;
    // The viewer's first play normally starts where the session was opened (no offset, or the same one).
    const confirm = !this.#seen && offset === this.#sessionOffset && !seek;
    const verdict = confirm ? 'burst' : this.#restarts.restart(this.#now());
    if (verdict === 'refused') {
      const message = `more than ${MAX_RESTARTS_PER_WINDOW} restarts in ${RESTART_WINDOW_MS / 1000} s: play refused`;
      return { ok: false, code: 'rate-limited', message };
    }
    this.#seen = true;
    return { ok: true, offset, seek, confirm, burst: verdict === 'burst' };
  }
}
