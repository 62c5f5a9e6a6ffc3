// The pages' hub sockets: the client SDK's typed sockets (client-sdk/hub-link.ts) on the
// page's own origin, plus what only a browser page has — the operator token prompt and
// the ICE servers fetched from /api/config.
import { ACK_TIMEOUT_MS, openDashboardSocket, type ClientSocket, type DashboardSocket } from '../../client-sdk/hub-link.js';
import { clientConfigSchema } from '../../client-sdk/hub-replies.js';
import { parse } from '../../signaling/protocol/messages.js';
import { connectClient, hubUrls, rawConfig } from './client-socket.js';

export { ACK_TIMEOUT_MS, connectClient, type ClientSocket, type DashboardSocket };
export type { DashboardToHubEvents } from '../../client-sdk/hub-link.js';

const TOKEN_KEY = 'baton.operatorToken';

/**
 * The operator token for a hub that requires one: `token=` in the page URL, before the `#`
 * or in the route's query as the app's own links carry theirs (`#/dashboard?token=T`), kept
 * for the tab's session; else what was entered before. A loopback hub needs none.
 */
export function operatorToken(): string | undefined {
  const fromUrl = new URLSearchParams(location.search).get('token') ?? hashQuery().get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    dropTokenFromUrl();
  }
  return fromUrl ?? sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/**
 * Takes `token=` out of the address bar once it is kept for the session: a dashboard is what gets shown on a shared
 * screen, screenshotted and its URL pasted to a colleague, and the browser's history would keep it too.
 */
function dropTokenFromUrl(): void {
  const search = new URLSearchParams(location.search);
  search.delete('token');
  let hash = location.hash;
  const q = hash.indexOf('?');
  if (q >= 0) {
    const hashSearch = new URLSearchParams(hash.slice(q + 1));
    hashSearch.delete('token');
    hash = hash.slice(0, q) + (hashSearch.toString() ? `?${hashSearch}` : '');
  }
  const rest = search.toString();
  history.replaceState(history.state, '', `${location.pathname}${rest ? `?${rest}` : ''}${hash}`);
}

/** The query of the hash route (`#/dashboard?token=T` → `token=T`). */
function hashQuery(): URLSearchParams {
  const q = location.hash.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : location.hash.slice(q + 1));
}

/**
 * Connect to the read-only `/dashboard` namespace on the page's own origin. When the hub
 * refuses for want of the operator token, ask for it once and retry with it.
 */
export function connectDashboard(): DashboardSocket {
  const socket = openDashboardSocket({ reconnect: true, auth: { token: operatorToken() }, alternates: () => hubUrls });
  let asked = false;
  socket.on('connect_error', (err) => {
    if (asked || !/operator token required/.test(err.message)) return;
    asked = true;
    const token = prompt('This hub needs its operator token to show the dashboard:');
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    socket.auth = { token };
    socket.connect();
  });
  return socket;
}

/**
 * ICE servers (STUN/TURN) the operator configured on the hub (`--ice-servers`),
 * fetched once when the page loads; empty (host candidates only) until then or
 * when none are configured, which is all loopback and a LAN need. Filled in place:
 * a Viewer made before the config came reads them for the peers it makes later.
 */
export const iceServers: RTCIceServer[] = [];
/** Settles once /api/config answered (or failed): a peer made before then would miss the operator's TURN servers. */
export const configReady: Promise<void> = rawConfig.then((c: unknown) => {
  const p = parse(clientConfigSchema, c);
  if (p.ok && p.value.iceServers) iceServers.splice(0, iceServers.length, ...p.value.iceServers);
  if (p.ok && p.value.hubs) hubUrls.splice(0, hubUrls.length, ...p.value.hubs);
});
