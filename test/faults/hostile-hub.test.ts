// Fault row 8 at the server itself: a hostile hub (a socket.io server in this test) sends a real
// `baton server` session-opens with path-like asset ids and malformed bodies, past every hub check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server as HttpServer } from 'node:http';
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { Server as IoServer, type Socket as IoSocket } from 'socket.io';
import { Cluster, MEDIA_DIR, waitFor } from '../helpers/cluster.js';
import { StateTable, isAssetId, type Ack } from '../../signaling/protocol/index.js';
import { HOSTILE_IDS } from './helpers/corpus.js';
import { recordFigure } from './helpers/figures.js';
import { alive } from './helpers/net.js';

const OLD = new Date('2000-01-01T00:00:00Z');
let seq = 0;
const sessionId = () => `hostile-session-${++seq}`;

describe('row 8: path-like asset ids straight at a server', () => {
  let http: HttpServer;
  let io: IoServer;
  let server: IoSocket | undefined;
  const cluster = new Cluster({ servers: [] });

  beforeAll(async () => {
    http = createServer();
    io = new IoServer(http);
    io.of('/server').on('connection', (s) => {
      s.on('register', (_d: unknown, ack: (r: unknown) => void) => {
        server = s;
        ack({ ok: true, snapshot: new StateTable().snapshot() });
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    cluster.hubUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    await cluster.startServer({ id: 'solo-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: ['demo-smpte'], ingest: true });
    await waitFor('the server registered with the hostile hub', () => server);
  }, 60_000);
  afterAll(async () => {
    await cluster.stop();
    await new Promise<void>((r) => io.close(() => r()));
  });

  const open = (body: unknown): Promise<Ack> => server!.timeout(5_000).emitWithAck('session-open', body);

  it('refuses them like unknown ids, survives malformed opens, and reads or creates nothing outside its root', async () => {
    const proc = cluster.servers.get('solo-1')!;
    const root = dirname(proc.storage);
    const canary = join(root, 'canary.webm');
    copyFileSync(join(MEDIA_DIR, 'demo-smpte.webm'), canary);
    const canaryBytes = readFileSync(canary);
    utimesSync(canary, OLD, OLD);
    const listing = () => ({ root: readdirSync(root).sort(), storage: readdirSync(proc.storage).sort() });
    // The server makes the stored clip's poster once it has listed the clip (a file is listed once it held still):
    // the baseline is taken after that, so only what the hostile opens did can differ.
    await waitFor("the stored clip's poster", () => existsSync(join(proc.storage, 'demo-smpte.poster.jpg')), 30_000);
    const before = listing();

    const unknown = await open({ sessionId: sessionId(), kind: 'watch', assetId: 'no-such-clip', offset: 0 });
    expect(unknown).toMatchObject({ ok: false, code: 'unknown-asset' });
    const ids = [
      ...HOSTILE_IDS,
      '../canary',
      '..%2fcanary',
      '%2e%2e%2fcanary',
      '..\\canary',
      join(root, 'canary'),
      `${join(root, 'canary')}\0`,
      'canary',
    ];
    for (const assetId of ids) {
      expect(await open({ sessionId: sessionId(), kind: 'watch', assetId, offset: 0 }), assetId).toMatchObject({
        ok: false,
        code: 'unknown-asset',
      });
      // As a stream to ingest (a well-formed id may be published: it stays inside the root).
      if (!isAssetId(assetId))
        expect(
          (await open({ sessionId: sessionId(), kind: 'publish', assetId, offset: 0, role: 'primary' })).ok,
          `publish ${assetId}`,
        ).toBe(false);
    }

    const valid = { sessionId: 'x', kind: 'watch', assetId: 'demo-smpte', offset: 0 };
    const malformed: unknown[] = [
      null,
      'open',
      42,
      [],
      {},
      { ...valid },
      { ...valid, sessionId: sessionId(), offset: -1 },
      { ...valid, sessionId: sessionId(), offset: '0' },
      { ...valid, sessionId: sessionId(), offset: 1.5 },
      { ...valid, sessionId: sessionId(), assetId: 7 },
      { ...valid, sessionId: sessionId(), kind: 'admin' },
      { ...valid, sessionId: '../../x' },
    ];
    for (const body of malformed) expect(await open(body), JSON.stringify(body)).toMatchObject({ ok: false, code: 'bad-request' });
    server!.emit('session-open', null); // no ack asked: ignored

    // Still serving: a real open is accepted (and released).
    const id = sessionId();
    expect(await open({ ...valid, sessionId: id })).toEqual({ ok: true });
    server!.emit('session-close', { sessionId: id, reason: 'test' });

    expect(alive(proc)).toBe(true);
    expect(statSync(canary).atimeMs).toBe(OLD.getTime());
    expect(readFileSync(canary).equals(canaryBytes)).toBe(true);
    expect(listing()).toEqual(before);
    recordFigure('hostile_hub.path_ids_refused', ids.length);
    recordFigure('hostile_hub.malformed_opens_refused', malformed.length);
  });
});
