// The browser's only socket.io import: typed connections to the hub's /client and /dashboard namespaces.
import { io, type Socket } from 'socket.io-client';
import type { ClientToHubEvents, DashboardToHubEvents, HubToClientEvents, HubToDashboardEvents } from '../../signaling/protocol/events.js';

export type ClientSocket = Socket<HubToClientEvents, ClientToHubEvents>;
export type DashboardSocket = Socket<HubToDashboardEvents, DashboardToHubEvents>;

/** How long an ack may take before the page treats the hub as unreachable. */
export const ACK_TIMEOUT_MS = 8_000;

/** Connect to `/client` on the page's own origin (the hub serves the page; Vite proxies in dev). */
export function connectClient(): ClientSocket {
  return io('/client', { reconnectionDelayMax: 5_000, transports: ['websocket'] });
}

const TOKEN_KEY = 'baton.operatorToken';

/**
 * The operator token for a hub that requires one: `?token=` in the page URL (kept for the
 * tab's session), else what was entered before. A loopback hub needs none.
 */
export function operatorToken(): string | undefined {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl) sessionStorage.setItem(TOKEN_KEY, fromUrl);
  return fromUrl ?? sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/**
 * Connect to the read-only `/dashboard` namespace on the page's own origin. When the hub
 * refuses for want of the operator token, ask for it once and retry with it.
 */
export function connectDashboard(): DashboardSocket {
  const socket: DashboardSocket = io('/dashboard', { reconnectionDelayMax: 5_000, transports: ['websocket'], auth: { token: operatorToken() } });
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
 * when none are configured, which is all loopback and a LAN need.
 */
export let iceServers: RTCIceServer[] = [];
fetch('/api/config')
  .then((r) => (r.ok ? r.json() : null))
  .then((c: { iceServers?: RTCIceServer[] } | null) => {
    if (Array.isArray(c?.iceServers)) iceServers = c.iceServers;
  })
  .catch(() => undefined);
