// The player's head start: on a watch route, the hub socket and the watch itself start as soon as the
// first module runs, while the app's components still load; the player adopts both when it comes up.
import { Viewer, type ViewerEventMap, type WatchAheadHandle } from '../../client-sdk/viewer.js';
import { iceServers, type ClientSocket } from './hub-socket.js';
import { EARLY_ADOPT_TIMEOUT_MS, dropWatchAhead, earlySocket, takeWatchAhead } from './client-socket.js';
import { parseHash } from './hash-route.js';
import { NativePeer } from './native-peer.js';
import { PlayPositions, localStorageOrNull, resumePoint } from './play-position.js';

/** Viewer events recorded until the player adopts the watch, then delivered to it in order. */
const VIEWER_EVENTS: ReadonlyArray<keyof ViewerEventMap> = [
  'selected',
  'meta',
  'data',
  'stats',
  'failover',
  'seeked',
  'end',
  'warning',
  'error',
  'leave',
];
/** Media bytes held for a player not there yet; past this the server is asked to pause. */
export const EARLY_MAX_BYTES = 4 * 1024 * 1024;

/**
 * The player's Viewer: a watch of `assetId` (an asset or a rendition) over `socket`, from `startS` seconds
 * when resuming, delivered no faster than `limitBps` when set (`limit=` in the URL).
 */
export function playerViewer(
  socket: ClientSocket,
  assetId: string,
  startS: number | null,
  limitBps: number | null = null,
  ahead: WatchAheadHandle | null = null,
): Viewer {
  return new Viewer({
    socket,
    assetId,
    SimplePeer: NativePeer,
    iceServers,
    ...(startS === null ? {} : { startTimeMs: startS * 1000 }),
    ...(limitBps === null ? {} : { limitBps }),
    ...(ahead === null ? {} : { ahead }),
  });
}

interface EarlyWatch {
  assetId: string;
  viewer: Viewer;
  events: Array<CustomEvent>;
  bytes: number;
  paused: boolean;
  record: (e: Event) => void;
}

let watch: EarlyWatch | null = null;
let adoptTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * When the route names an asset and the early socket (client-socket.ts) is still untaken: start watching it on that
 * socket, from the same point the player would, taking over the watch asked ahead (its peer may be connecting). The
 * operator's ICE servers need not be parsed yet: that peer waited for them, and later ones read them when made.
 * Otherwise (a player already took the socket, or this ran already) nothing. The player calls it before it takes the
 * socket, so the watch asked ahead is taken over whichever of this chunk's start and the player comes first.
 */
export function startEarlyWatch(hash: string = location.hash): void {
  const route = parseHash(hash);
  const s = earlySocket();
  if (route.page !== 'watch' || !route.asset || !s || watch) return;
  adoptTimer = setTimeout(discard, EARLY_ADOPT_TIMEOUT_MS);
  const startS = resumePoint(route.asset, hash, new PlayPositions(localStorageOrNull()));
  const viewer = playerViewer(s, route.asset, startS, null, takeWatchAhead(route.asset));
  const w: EarlyWatch = { assetId: route.asset, viewer, events: [], bytes: 0, paused: false, record: () => undefined };
  watch = w;
  w.record = (e) => {
    const ev = e as CustomEvent;
    w.events.push(ev);
    if (ev.type !== 'data') return;
    w.bytes += (ev.detail as ViewerEventMap['data']['detail']).bytes.byteLength;
    if (!w.paused && w.bytes > EARLY_MAX_BYTES) {
      w.paused = true;
      w.viewer.pause();
    }
  };
  for (const type of VIEWER_EVENTS) viewer.addEventListener(type, w.record);
  viewer.start();
}

/**
 * The watch of `assetId` started at page load, once: the caller adds its listeners, then calls
 * `replay()`, which hands it every event so far, in order, and lets later ones through. Null when
 * there is none (or it was of another asset: then it is closed).
 */
export function takeEarlyViewer(assetId: string): { viewer: Viewer; replay: () => void } | null {
  const w = watch;
  watch = null;
  clearTimeout(adoptTimer);
  if (!w || w.assetId !== assetId) {
    w?.viewer.close();
    dropWatchAhead();
    return null;
  }
  const viewer = w.viewer;
  return {
    viewer,
    replay: () => {
      for (const type of VIEWER_EVENTS) viewer.removeEventListener(type, w.record);
      for (const e of w.events) viewer.dispatchEvent(new CustomEvent(e.type, { detail: e.detail }));
      w.events = [];
      if (w.paused) viewer.resume();
    },
  };
}

function discard(): void {
  watch?.viewer.close();
  watch = null;
}
