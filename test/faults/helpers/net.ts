// Small clients for the fault suite: hub sockets, JSON over HTTP, and a process's fds and memory.
import { readdirSync, readFileSync } from 'node:fs';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { mintServerToken } from '../../../signaling/auth.js';
import { SECRET, type Cluster } from '../../helpers/cluster.js';

/** Connects to a hub namespace; rejects with the hub's reason when refused. */
export function connect(
  hubUrl: string,
  ns: '/client' | '/server' | '/dashboard' = '/client',
  auth?: Record<string, unknown>,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(`${hubUrl}${ns}`, { transports: ['websocket'], reconnection: false, auth, forceNew: true, timeout: 10_000 });
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => {
      s.close();
      reject(e);
    });
  });
}

/** A `/server` connection authenticated as `id` (not registered). */
export function connectServer(hubUrl: string, id: string): Promise<Socket> {
  return connect(hubUrl, '/server', { token: mintServerToken(SECRET, id, Date.now()) });
}

/** Emits with an ack; rejects after 5 s without one. */
export function ask<T = any>(s: Socket, event: string, ...args: unknown[]): Promise<T> {
  return s.timeout(5_000).emitWithAck(event, ...args) as Promise<T>;
}

export async function getJson<T = any>(url: string): Promise<T> {
  const res = await fetch(url);
  return (await res.json()) as T;
}

/** A server's own HTTP side (status, table), found through the hub's /api/state. */
export async function serverUrl(cluster: Cluster, id: string): Promise<string> {
  const s = await cluster.state();
  const url = s.servers.find((x) => x.id === id)?.httpUrl;
  if (!url) throw new Error(`server ${id} is not in the table`);
  return url;
}

/** Open file descriptors of a process (Linux /proc). */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident set size of a process, bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB$/m);
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Whether a child process is still running. */
export function alive(p: { child: { exitCode: number | null; signalCode: NodeJS.Signals | null } }): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A raw socket.io WebSocket (socket.io-client always reads) joined to `ns`, then no longer read: what the hub sends it
 * stays with the hub. Send `3` on it for a pong it never read.
 */
export async function unreadSocket(hubUrl: string, ns: '/client' | '/dashboard'): Promise<WebSocket> {
  const ws = new WebSocket(`${hubUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
  ws.on('error', () => undefined);
  await new Promise<void>((resolve) => ws.once('open', () => resolve()));
  const joined = new Promise<void>((resolve) => ws.on('message', (m) => String(m).startsWith(`40${ns},`) && resolve()));
  ws.send(`40${ns},`);
  await joined;
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  return ws;
}
