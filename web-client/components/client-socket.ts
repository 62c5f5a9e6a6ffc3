// The page's `/client` socket and the raw /api/config, without the wire schemas: the first module of a watch page
// loads this (socket.io, no zod) and opens the socket while the rest of the JavaScript loads. hub-socket.ts parses the
// config by its schema; the first peer's ICE servers are read by hand (ice-servers.ts), so its offer need not wait for zod.
import { openClientSocket, type ClientSocket } from '../../client-sdk/hub-link.js';
import type { WatchAheadHandle } from '../../client-sdk/viewer-types.js';
import { askWatchAhead } from '../../client-sdk/watch-ahead.js';
import { EarlyPlayback, type EarlyHandOff } from './early-playback.js';
import { EarlyWebSocketTransport } from './early-websocket.js';
import { parseHash } from './hash-route.js';
import { readIceServers } from './ice-servers.js';
import { makePeerAhead } from './native-peer.js';
import { PlayPositions, localStorageOrNull, resumePoint } from './play-position.js';

/** /api/config as the hub sent it (null when it failed), fetched once when the page loads; parsed by hub-socket.ts. */
export const rawConfig: Promise<unknown> = fetch('/api/config')
  .then((r) => (r.ok ? r.json() : null))
  .catch(() => null);

/** The cluster's other hubs (several on Redis), from /api/config: a dropped socket reconnects to them in turn. */
export const hubUrls: string[] = [];

/** The operator's ICE servers, read by hand from /api/config (empty when it failed): the first peer's offer waits for them. */
export const iceServersAhead: Promise<RTCIceServer[]> = rawConfig.then(readIceServers);

/**
 * Connect to `/client` on the page's own origin (the hub serves the page; Vite proxies in dev). The page's first
 * connection takes the WebSocket index.html opened before this module loaded (early-websocket.ts).
 */
export function connectClient(): ClientSocket {
  return openClientSocket({ reconnect: true, alternates: () => hubUrls, websocket: EarlyWebSocketTransport });
}

/** How long the peer made ahead waits for /api/config before it makes its offer without the operator's ICE servers. */
export const CONFIG_WAIT_MS = 2_000;
/** An early socket that no player took by then is closed (the app never came up). */
export const EARLY_ADOPT_TIMEOUT_MS = 30_000;

/**
 * How long the app's code waits for the early playback's first frame before it loads anyway (ms): until then the page's
 * main thread stays free for the connection and the first appends.
 */
export const APP_WAIT_MS = 1_000;

let early: ClientSocket | null = null;
let watchAhead: WatchAheadHandle | null = null;
let playback: EarlyPlayback | null = null;

/**
 * On a watch route: open the `/client` socket now, for the player to take (`takeEarlySocket`), and when it
 * names an asset, make the player's peer too (native-peer.ts). Elsewhere nothing.
 */
export function openEarlySocket(hash: string = location.hash): void {
  const route = parseHash(hash);
  if (route.page !== 'watch' || early) return;
  const s = connectClient();
  early = s;
  // The offer waits for the operator's ICE servers, but not forever: a config that never comes means none.
  if (route.asset) {
    const peer = makePeerAhead(
      Promise.race([iceServersAhead, new Promise<RTCIceServer[]>((r) => setTimeout(() => r([]), CONFIG_WAIT_MS))]),
    );
    // The watch goes as soon as the socket and the offer are there, and the peer connects, without waiting for the player's code.
    const ahead = askWatchAhead(s, route.asset, peer, route.limitKbps === undefined ? undefined : route.limitKbps * 1000);
    watchAhead = ahead;
    // The start of a stored asset plays from here too, before the player's code (early-playback.ts); a resumed
    // position or a delivery limit is the player's to ask for.
    const resume = resumePoint(route.asset, hash, new PlayPositions(localStorageOrNull()));
    if (resume === null && route.limitKbps === undefined && typeof MediaSource !== 'undefined') {
      const p = new EarlyPlayback(route.asset, peer, showWatchShell());
      playback = p;
      void ahead.reply.then((r) => {
        if (!r?.ok) p.giveUp();
      });
    }
  }
  setTimeout(() => {
    playback?.discard();
    playback = null;
    dropWatchAhead();
    if (early !== s) return;
    early = null;
    s.disconnect();
  }, EARLY_ADOPT_TIMEOUT_MS);
}

/** Resolves when the app's code may load: at once, or once the early playback showed its first frame (or gave up, or APP_WAIT_MS passed). */
export function appMayLoad(): Promise<void> {
  const p = playback;
  if (!p) return Promise.resolve();
  return Promise.race([p.settled, new Promise<void>((resolve) => setTimeout(resolve, APP_WAIT_MS))]);
}

/**
 * Shows the watch page's frame from index.html (the bar and the player's box, where the app will draw them) and returns
 * its screen, for the early video to appear where the player shows it; the body when the page has none.
 */
function showWatchShell(): ParentNode {
  const shell = document.querySelector<HTMLElement>('.watch-shell');
  if (!shell) return document.body;
  shell.hidden = false;
  return shell.querySelector('.watch-shell-screen') ?? shell;
}

/** The player shows the early video now: the frame it stood in goes (baton-app's own rendering hides it already). */
export function removeWatchShell(): void {
  document.querySelector('.watch-shell')?.remove();
}

let videoTaken = false;

/**
 * The early playback's video, once, for the page's first player to show (it takes the playback itself over at
 * `takeEarlyPlayback`); null when there is none.
 */
export function takeEarlyVideo(): HTMLVideoElement | null {
  if (!playback || videoTaken) return null;
  videoTaken = true;
  return playback.video;
}

/**
 * The early playback of `assetId`, once: what the player's sink takes over, or null when there is none, it gave up,
 * or it played another asset (then it is released).
 */
export function takeEarlyPlayback(assetId: string): EarlyHandOff | null {
  const p = playback;
  playback = null;
  if (!p) return null;
  const handOff = p.assetId === assetId ? p.handOff() : null;
  if (!handOff) p.discard();
  return handOff;
}

/** No Viewer will take the watch asked ahead (the player starts its own): leave it and close its peer. */
export function dropWatchAhead(): void {
  watchAhead?.drop();
  watchAhead = null;
}

/**
 * The watch of `assetId` asked at page load, for the first Viewer of it (its `ahead` option), once: null when
 * there is none or it was of another asset (then it is dropped).
 */
export function takeWatchAhead(assetId: string): WatchAheadHandle | null {
  const w = watchAhead;
  watchAhead = null;
  if (w && w.assetId !== assetId) {
    w.drop();
    return null;
  }
  return w;
}

/** The early socket while no player has taken it (the early watch runs on it). */
export function earlySocket(): ClientSocket | null {
  return early;
}

/** The socket opened at page load, once (the player's first connection); null afterwards and on other pages. */
export function takeEarlySocket(): ClientSocket | null {
  const s = early;
  early = null;
  return s;
}
