// watchToFile against a real socket.io /client namespace: a stand-in hub that serves ServeSessions itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { linkSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Server } from 'socket.io';
import { DiskStore } from '../../node-app/storage/disk-store.js';
import { createStoreSource } from '../../node-app/delivery/store-source.js';
import { ServeSession } from '../../node-app/delivery/serve-session.js';
import { watchToFile, WatchError } from '../../node-app/delivery/node-viewer.js';
import { ensureDemoMedia } from '../../scripts/make-demo-media.js';
import { parse, signalSchema, watchSchema } from '../../signaling/protocol/messages.js';

const MEDIA_DIR = resolve(import.meta.dirname, '../../var/media');

describe('watchToFile through a socket.io hub', () => {
  let dir: string;
  let store: DiskStore;
  let io: Server;
  let hubUrl: string;
  const sessions = new Map<string, ServeSession>();
  let seq = 0;

  beforeAll(async () => {
    await ensureDemoMedia(MEDIA_DIR);
    dir = mkdtempSync(join(tmpdir(), 'baton-node-viewer-'));
    linkSync(join(MEDIA_DIR, 'demo-testsrc.webm'), join(dir, 'demo-testsrc.webm'));
    store = await DiskStore.open(join(dir));
    const http = createServer();
    io = new Server(http);
    io.of('/client').on('connection', (socket) => {
      socket.on('watch', (raw: unknown, ack: (r: unknown) => void) => {
        const p = parse(watchSchema, raw);
        if (!p.ok) return ack({ ok: false, code: 'bad-request', message: p.message });
        if (!store.stat(p.value.assetId)) return ack({ ok: false, code: 'unknown-asset', message: 'not stored anywhere' });
        const sessionId = `node-viewer-${++seq}`;
        const session = new ServeSession({
          sessionId,
          source: createStoreSource(store, p.value.assetId),
          offset: p.value.offset ?? 0,
          signal: (data) => socket.emit('signal', { sessionId, data }),
          allowFast: true, // the viewer below asks for fast delivery
        });
        sessions.set(sessionId, session);
        session.once('closed', () => sessions.delete(sessionId));
        ack({ ok: true, sessionId, server: { id: 'solo-1', region: 'test' }, reason: 'storage', loadFactor: 0, epoch: 1 });
        // The viewer's offer comes with its watch, as the real hub hands it to the server with the session;
        // the answer then goes back as a signal (the real hub may put it in the reply instead).
        if (p.value.offer) session.signal(p.value.offer);
      });
      socket.on('signal', (raw: unknown) => {
        const p = parse(signalSchema, raw);
        if (p.ok) sessions.get(p.value.sessionId)?.signal(p.value.data);
      });
      socket.on('leave', (raw: { sessionId?: string }) => sessions.get(String(raw?.sessionId))?.close('left'));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    hubUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const s of sessions.values()) s.close();
    await new Promise((r) => io?.close(() => r(undefined)));
    store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('saves the whole asset and reports server, bytes, sha256 and time to first byte', async () => {
    const out = join(dir, 'out.bin');
    const r = await watchToFile({ hubUrl, assetId: 'demo-testsrc', out, fast: true });
    const want = readFileSync(join(dir, 'demo-testsrc.webm'));
    const got = readFileSync(out);
    expect(got.equals(want)).toBe(true);
    expect(r).toMatchObject({ server: 'solo-1', reason: 'storage', bytes: want.byteLength, failovers: [] });
    expect(r.sha256).toBe(createHash('sha256').update(want).digest('hex'));
    expect(r.ttfbMs).toBeGreaterThan(0);
    expect(r.ttfbMs).toBeLessThanOrEqual(r.totalMs);
    // The viewer left: the server let the session go.
    await new Promise((res) => setTimeout(res, 100));
    expect(sessions.size).toBe(0);
  });

  it('rejects with the hub code for an unknown asset', async () => {
    const err = await watchToFile({ hubUrl, assetId: 'no-such-clip', out: join(dir, 'none.bin') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WatchError);
    expect((err as WatchError).code).toBe('unknown-asset');
  });

  it('rejects with hub-unreachable when nothing listens', async () => {
    const err = await watchToFile({ hubUrl: 'http://127.0.0.1:9', assetId: 'demo-testsrc', out: join(dir, 'none.bin') }).catch(
      (e: unknown) => e,
    );
    expect((err as WatchError).code).toBe('hub-unreachable');
  });
});
