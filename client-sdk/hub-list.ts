// The other hubs of a hub's cluster (several hubs on Redis), as that hub lists them in /api/config: where a client
// that is not a page (the CLI's viewer and publisher) reconnects when its hub goes away. No DOM, no Node.
import { openClientSocket, whenConnected, type ClientSocket } from './hub-link.js';
import { clientConfigSchema } from './hub-replies.js';
import { parse } from '../signaling/protocol/messages.js';

/** Asking a hub for the cluster's other hubs (/api/config) gives up after this long. */
const CONFIG_TIMEOUT_MS = 2_000;

/**
 * The hubs of `hubUrl`'s cluster besides `hubUrl` itself, as it lists them in /api/config (several hubs on Redis), then
 * those of `given` it did not list; [] when it lists none and none was given.
 */
export async function hubsOf(hubUrl: string, given: readonly string[] = []): Promise<string[]> {
  const base = (u: string) => u.replace(/\/$/, '');
  let listed: readonly string[] = [];
  try {
    const res = await fetch(`${base(hubUrl)}/api/config`, { signal: AbortSignal.timeout(CONFIG_TIMEOUT_MS) });
    const p = res.ok ? parse(clientConfigSchema, await res.json()) : null;
    if (p?.ok) listed = p.value.hubs ?? [];
  } catch {
    // no list: the given hubs only
  }
  return [...new Set([...listed, ...given].map(base))].filter((u) => u !== base(hubUrl));
}

export interface ToolSocketOptions {
  hubUrl: string;
  /** Keep the socket up across drops, moving to the next of [hubUrl, …alternates] at each attempt. Default false. */
  reconnect?: boolean;
  /** The cluster's other hubs (`hubsOf`). */
  alternates?: readonly string[];
  timeoutMs: number;
  extraHeaders?: Record<string, string>;
}

/**
 * A tool's `/client` socket (the CLI's viewer and publisher) and its first connection: `connected` rejects with
 * `hub-unreachable` once each hub the socket may try failed once (a cluster that is down fails at once), or after
 * `timeoutMs`.
 */
export function openToolSocket(o: ToolSocketOptions): { socket: ClientSocket; connected: Promise<void> } {
  const alternates = o.reconnect ? (o.alternates ?? []) : [];
  const socket = openClientSocket({
    hubUrl: o.hubUrl,
    reconnect: o.reconnect ?? false,
    timeoutMs: o.timeoutMs,
    ...(alternates.length > 0 ? { alternates: () => alternates } : {}),
    ...(o.extraHeaders ? { extraHeaders: o.extraHeaders } : {}),
  });
  const others = alternates.length > 0 ? ` (or any of ${alternates.length} other hubs of its cluster)` : '';
  return { socket, connected: whenConnected(socket, `${o.hubUrl}${others}`, o.timeoutMs, 1 + alternates.length) };
}
