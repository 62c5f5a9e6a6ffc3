// A stand-in hub for Viewer tests: answers watch, relays signals both ways asynchronously, can kill a server.
import type { ViewerSocket } from '../../client-sdk/viewer.js';
import { parse, watchSchema, type WatchReply } from '../../signaling/protocol/messages.js';
import type { Ack } from '../../signaling/protocol/types.js';

export function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  return new Promise((done, fail) => {
    const t0 = Date.now();
    const check = () => {
      if (cond()) return done();
      if (Date.now() - t0 > timeoutMs) return fail(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 10);
    };
    check();
  });
}

/** One "media server" behind the test hub: how it serves a watch. */
export interface TestServer {
  id: string;
  region: string;
  serve: (
    sessionId: string,
    assetId: string,
    offset: number,
    toViewer: (data: unknown) => void,
  ) => { signal(data: unknown): void; close(): void };
}

/**
 * Plays the hub for a Viewer: answers `watch` by picking the first live server not
 * excluded, relays signals both ways asynchronously, and can kill a server.
 */
export class TestHub {
  readonly watches: unknown[] = [];
  readonly #servers: TestServer[];
  readonly #dead = new Set<string>();
  readonly #sessions = new Map<string, { server: string; end: { signal(data: unknown): void; close(): void } }>();
  readonly #listeners = new Map<string, Set<(msg: any) => void>>();
  #seq = 0;

  constructor(servers: TestServer[]) {
    this.#servers = servers;
  }

  readonly socket: ViewerSocket = {
    emit: (event: string, msg: any, ack?: (r: Ack<WatchReply>) => void): unknown => {
      if (event === 'watch') this.#watch(msg, ack!);
      else if (event === 'signal') setImmediate(() => this.#sessions.get(msg.sessionId)?.end.signal(msg.data));
      else if (event === 'leave') this.#sessions.get(msg.sessionId)?.end.close();
      return true;
    },
    on: (event: string, fn: (msg: any) => void) => {
      if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
      this.#listeners.get(event)!.add(fn);
      return this.socket;
    },
    off: (event: string, fn: (msg: any) => void) => this.#listeners.get(event)?.delete(fn),
  } as ViewerSocket;

  /** The server stops: its sessions close and the viewers hear `session-close`. */
  kill(serverId: string, tellViewers = true): void {
    this.#dead.add(serverId);
    for (const [sessionId, s] of this.#sessions) {
      if (s.server !== serverId) continue;
      s.end.close();
      if (tellViewers) this.#fire('session-close', { sessionId, reason: 'server-left' });
    }
  }

  #fire(event: string, msg: unknown): void {
    for (const fn of this.#listeners.get(event) ?? []) fn(msg);
  }

  #watch(raw: unknown, ack: (r: Ack<WatchReply>) => void): void {
    this.watches.push(raw);
    const p = parse(watchSchema, raw);
    if (!p.ok) return ack({ ok: false, code: 'bad-request', message: p.message });
    const server = this.#servers.find((s) => !this.#dead.has(s.id) && !p.value.exclude?.includes(s.id));
    if (!server) return ack({ ok: false, code: 'unknown-asset', message: 'no server has it' });
    const sessionId = `sess-${++this.#seq}-${server.id}`;
    const end = server.serve(sessionId, p.value.assetId, p.value.offset ?? 0, (data) =>
      setImmediate(() => this.#fire('signal', { sessionId, data })),
    );
    this.#sessions.set(sessionId, { server: server.id, end });
    // The offer that came with the watch reaches the server with its session; its answer comes back as a
    // signal (what a real hub does when the server's answer was not ready for its yes).
    const offer = p.value.offer;
    if (offer) setImmediate(() => end.signal(offer));
    setImmediate(() =>
      ack({ ok: true, sessionId, server: { id: server.id, region: server.region }, reason: 'storage', loadFactor: 0.1, epoch: 1 }),
    );
  }
}
