// A viewer's `watch` to the hub: retried with doubling delays on transient refusals only, stopped by close, never rejecting.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { ask } from '../../client-sdk/hub-replies.js';
import type { ViewerSocket } from '../../client-sdk/viewer-types.js';
import { askWatch, MAX_WATCH_ATTEMPTS, WATCH_ACK_TIMEOUT_MS, WATCH_RETRY_BASE_MS } from '../../client-sdk/watch-request.js';
import { RelaySocket } from '../../node-app/whip/relay-socket.js';

const granted = { ok: true, sessionId: 's1', server: { id: 'srv-1', region: 'test' }, reason: 'cache', loadFactor: 0, epoch: 1 };

/** A hub that gives the scripted answers in turn (undefined: never answers), and logs when each watch came. */
function scriptedHub(answers: unknown[]) {
  const at: number[] = [];
  const socket = {
    emit(event: string, _req?: unknown, ack?: (r: unknown) => void) {
      if (event !== 'watch') return;
      const answer = answers[at.length];
      at.push(Date.now());
      if (answer !== undefined) ack!(answer);
    },
    on: () => undefined,
    off: () => undefined,
  } as unknown as ViewerSocket;
  return { socket, at };
}

const req = { assetId: 'a', offset: 0 };

/**
 * A hub connection that socket.io would drop under a request: the scripted answers in turn (undefined: never answers),
 * and `connect`/`disconnect` events as socket.io emits them. socket.io forgets a plain ack at a disconnect.
 */
function droppingHub(answers: unknown[], connected = true) {
  const at: number[] = [];
  const events = new EventEmitter();
  const socket = Object.assign(events, {
    connected,
    emit(event: string, _req?: unknown, ack?: (r: unknown) => void) {
      if (event === 'connect' || event === 'disconnect') {
        socket.connected = event === 'connect';
        return EventEmitter.prototype.emit.call(events, event);
      }
      const answer = answers[at.length];
      at.push(Date.now());
      if (answer !== undefined) ack!(answer);
      return true;
    },
  });
  return { socket: socket as unknown as ViewerSocket, at, drop: () => socket.emit('disconnect'), connect: () => socket.emit('connect') };
}

describe('askWatch', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('asks again on a refusal given before any director was asked, the delay doubling, and returns the grant', async () => {
    const hub = scriptedHub([{ ok: false, code: 'no-director', message: '' }, { ok: false, code: 'rate-limited', message: '' }, granted]);
    const p = askWatch(hub.socket, req, () => false);
    await vi.runAllTimersAsync();
    expect(await p).toEqual(granted);
    expect(hub.at).toEqual([0, WATCH_RETRY_BASE_MS, 3 * WATCH_RETRY_BASE_MS]);
  });

  it.each(['no-capacity', 'timeout', 'stale-epoch', 'internal', 'unknown-asset'])(
    'does not ask again after the hub refused with %s: it spent its own budget of director asks on that answer',
    async (code) => {
      const hub = scriptedHub([{ ok: false, code, message: 'after the hub routed' }, granted]);
      const p = askWatch(hub.socket, req, () => false);
      await vi.runAllTimersAsync();
      expect(await p).toEqual({ ok: false, code, message: 'after the hub routed' });
      expect(hub.at).toHaveLength(1);
    },
  );

  it.each(['timeout', 'stale-epoch'])(
    'asks again after %s when resuming after a server died (its director often died with it), not after no-capacity',
    async (code) => {
      const hub = scriptedHub([{ ok: false, code, message: 'director churn' }, granted]);
      const p = askWatch(hub.socket, req, () => false, true);
      await vi.runAllTimersAsync();
      expect(await p).toEqual(granted);
      expect(hub.at).toEqual([0, WATCH_RETRY_BASE_MS]);
      const full = scriptedHub([{ ok: false, code: 'no-capacity', message: 'full' }, granted]);
      const q = askWatch(full.socket, req, () => false, true);
      await vi.runAllTimersAsync();
      expect(await q).toMatchObject({ ok: false, code: 'no-capacity' });
      expect(full.at).toHaveLength(1);
    },
  );

  it('stops at the first refusal that is not transient', async () => {
    const hub = scriptedHub([{ ok: false, code: 'not-found', message: 'no such asset' }, granted]);
    const p = askWatch(hub.socket, req, () => false);
    await vi.runAllTimersAsync();
    expect(await p).toMatchObject({ ok: false, code: 'not-found' });
    expect(hub.at).toHaveLength(1);
  });

  it(`gives up after ${MAX_WATCH_ATTEMPTS} attempts; a silent hub is a timeout, a malformed ack an internal refusal`, async () => {
    const hub = scriptedHub([undefined, { ok: true }, undefined, undefined, granted]);
    const p = askWatch(hub.socket, req, () => false);
    await vi.runAllTimersAsync();
    expect(await p).toMatchObject({ ok: false, code: 'timeout' });
    expect(hub.at).toHaveLength(MAX_WATCH_ATTEMPTS);
    expect(hub.at[1]).toBe(WATCH_ACK_TIMEOUT_MS + WATCH_RETRY_BASE_MS);
    expect(hub.at[2]).toBe(hub.at[1]! + 2 * WATCH_RETRY_BASE_MS); // the malformed ack came at once
  });

  it('asks no more once stopped', async () => {
    let closed = false;
    const hub = scriptedHub([{ ok: false, code: 'no-director', message: '' }, granted]);
    const p = askWatch(hub.socket, req, () => closed);
    closed = true;
    await vi.runAllTimersAsync();
    expect(await p).toMatchObject({ ok: false, code: 'no-director' });
    expect(hub.at).toHaveLength(1);
  });

  it('resolves with a refusal when the socket throws', async () => {
    const socket = {
      emit() {
        throw new Error('disconnected');
      },
    } as unknown as ViewerSocket;
    const p = askWatch(socket, req, () => true);
    expect(await p).toEqual({ ok: false, code: 'internal', message: 'disconnected' });
  });

  it('asks again at once when the hub connection drops under a watch, not after the ack timeout', async () => {
    const hub = droppingHub([undefined, granted]);
    const p = askWatch(hub.socket, req, () => false);
    await vi.advanceTimersByTimeAsync(500);
    hub.drop(); // its hub died: socket.io will never call that ack
    await vi.runAllTimersAsync();
    expect(await p).toEqual(granted);
    expect(hub.at).toEqual([0, 500 + WATCH_RETRY_BASE_MS]);
  });

  it('a watch emitted while connecting is kept through the connect, and lost when that connection drops', async () => {
    const hub = droppingHub([undefined, granted], false);
    const p = askWatch(hub.socket, req, () => false);
    await vi.advanceTimersByTimeAsync(300);
    hub.connect();
    await vi.advanceTimersByTimeAsync(300);
    hub.drop();
    await vi.runAllTimersAsync();
    expect(await p).toEqual(granted);
    expect(hub.at).toEqual([0, 600 + WATCH_RETRY_BASE_MS]);
  });
});

describe('ask (publish and the other acked requests)', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('gives up at once when the hub connection drops under the request', async () => {
    const hub = droppingHub([undefined]);
    const p = ask(hub.socket as never, 'publish', {}, z.object({ ok: z.literal(true) }), 10_000);
    await vi.advanceTimersByTimeAsync(200);
    hub.drop();
    await vi.advanceTimersByTimeAsync(0);
    expect(await Promise.race([p, 'pending'])).toMatchObject({ ok: false, code: 'timeout', message: expect.stringContaining('dropped') });
  });

  it("takes off only the listener it put on: the WHIP relay's socket, which knows neither connect nor disconnect, answers publish", async () => {
    vi.useRealTimers();
    const relay = new RelaySocket('res-1', { sessions: [] } as never, () => undefined);
    const r = await ask(relay as never, 'publish', {}, z.object({ ok: z.literal(true) }).passthrough(), 1_000);
    expect(r).toMatchObject({ ok: true });
    // A socket whose listener sets throw for any event but the one asked: nothing thrown either.
    const strict = {
      connected: true,
      added: [] as string[],
      emit: (_e: string, _r: unknown, ack: (a: unknown) => void) => queueMicrotask(() => ack({ ok: true })),
      on(e: string) {
        strict.added.push(e);
      },
      off(e: string) {
        if (!strict.added.includes(e)) throw new Error(`off(${e}) without on(${e})`);
      },
    };
    expect(await ask(strict as never, 'publish', {}, z.object({ ok: z.literal(true) }), 1_000)).toEqual({ ok: true });
  });
});
