// Pipelined requests on one connection are answered one at a time, on every route: a client that never reads
// cannot make a server (the media server's /poster, /media, /healthz …; the hub's routes) hold an answer per request.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, ServerResponse, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { answerInTurn, MAX_REQUESTS_PER_CONNECTION } from '../../common/answer-in-turn.js';
import { startStatusHttp, type StatusHttp } from '../../node-app/server/status-http.js';
import { DiskStore } from '../../node-app/storage/disk-store.js';
import { Hub } from '../../signaling/hub.js';

/** Answers begun (a status written) and not yet finished or closed, by status; the most at once of the 200s. */
function watchAnswers() {
  const counts = { ok: 0, refused: 0, inFlight: 0, maxInFlight: 0 };
  const writeHead = ServerResponse.prototype.writeHead;
  const spy = vi.spyOn(ServerResponse.prototype, 'writeHead').mockImplementation(function (
    this: ServerResponse,
    ...args: Parameters<ServerResponse['writeHead']>
  ) {
    const status = args[0];
    if (status === 503) counts.refused++;
    else {
      counts.ok++;
      counts.inFlight++;
      counts.maxInFlight = Math.max(counts.maxInFlight, counts.inFlight);
      let done = false;
      const end = () => {
        if (!done) counts.inFlight--;
        done = true;
      };
      // Ahead of the server's own listeners: the next answer may begin within this one's 'finish'.
      this.prependOnceListener('finish', end);
      this.prependOnceListener('close', end);
    }
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead']);
  return { counts, restore: () => spy.mockRestore() };
}

/** A connection that sends `count` pipelined requests for `path` and never reads. */
async function pipelineUnread(port: number, path: string, count: number): Promise<Socket> {
  const sock = connect(port, '127.0.0.1');
  sock.on('error', () => undefined);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.pause();
  sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(count));
  return sock;
}

describe('answerInTurn', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('hands a connection its requests one at a time, and closes it after the last allowed answer', async () => {
    let running = 0;
    let maxRunning = 0;
    const server: Server = createServer();
    answerInTurn(
      server,
      (req, res) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        // Answered on a later turn, as a file read would be.
        setTimeout(() => {
          running--;
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(req.url);
        }, 1);
      },
      5,
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise((r) => server.close(r)));
    const { port } = server.address() as AddressInfo;
    const sock = connect(port, '127.0.0.1');
    const paths = Array.from({ length: 20 }, (_, i) => `/r${i}`);
    sock.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    let text = '';
    sock.on('data', (b) => (text += b.toString('latin1')));
    cleanup.push(() => sock.destroy());
    // 5 answers, the last saying `Connection: close`, then Node's 503 to each request past the allowance.
    await vi.waitFor(() => expect(text.match(/HTTP\/1\.1 \d{3}/g)).toHaveLength(paths.length), { timeout: 10_000, interval: 20 });
    expect(maxRunning).toBe(1);
    expect(text.match(/HTTP\/1\.1 200/g)).toHaveLength(5);
    expect(text.match(/HTTP\/1\.1 200[\s\S]*?\r\n\r\n/g)?.[4]).toMatch(/connection: close/i);
    expect(text.match(/\/r\d+/g)?.slice(0, 5)).toEqual(paths.slice(0, 5));
  });

  it('answers 500 for a route that throws, tells its log, and goes on serving (before, the throw ended the process)', async () => {
    const errors: string[] = [];
    const server: Server = createServer();
    answerInTurn(
      server,
      (req, res) => {
        if (req.url === '/throws') throw new Error('a route failed');
        if (req.url === '/throws-late') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('part');
          throw new Error('failed mid-answer');
        }
        res.end('ok');
      },
      undefined,
      { error: ({ err }) => errors.push((err as Error).message) },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise((r) => server.close(r)));
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    const failed = await fetch(`${url}/throws`);
    expect([failed.status, await failed.text()]).toEqual([500, 'internal error\n']);
    // An answer under way when its route threw: the connection is closed, the client sees it cut short.
    await expect(fetch(`${url}/throws-late`).then((r) => r.text())).rejects.toThrow();
    const ok = await fetch(`${url}/`);
    expect([ok.status, await ok.text()]).toEqual([200, 'ok']);
    expect(errors).toEqual(['a route failed', 'failed mid-answer']);
  });

  describe("the media server's HTTP side", () => {
    async function mediaServerHttp(): Promise<StatusHttp> {
      const dir = mkdtempSync(join(tmpdir(), 'baton-in-turn-'));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      // A poster of a live stream (the catalog need not list it): 256 KB, so the kernel's buffers take only some.
      writeFileSync(join(dir, 'live1.poster.jpg'), Buffer.alloc(256 * 1024, 7));
      const store = await DiskStore.open(dir);
      const http = await startStatusHttp({
        store,
        livePoster: (id) => (id === 'live1' ? 'v1' : undefined),
        registry: new Registry(),
        table: () => ({}) as never,
        status: () => ({}),
      });
      cleanup.push(() => http.close());
      return http;
    }

    for (const path of ['/poster/live1.jpg', '/healthz', '/media/nothing.webm']) {
      it(`20,000 pipelined GET ${path} on one unread connection: one answer under way at a time, at most ${MAX_REQUESTS_PER_CONNECTION} made`, async () => {
        const http = await mediaServerHttp();
        const watch = watchAnswers();
        cleanup.push(watch.restore);
        const sock = await pipelineUnread(Number(new URL(http.url).port), path, 20_000);
        cleanup.push(() => sock.destroy());
        // The server has read past the connection's allowance (it refuses the rest) and moved past the first answer;
        // or, unbounded, answered more than the allowance.
        const progressed = () => (watch.counts.refused > 0 && watch.counts.ok >= 2) || watch.counts.ok > MAX_REQUESTS_PER_CONNECTION;
        await vi.waitFor(() => expect(progressed()).toBe(true), {
          timeout: 15_000,
          interval: 20,
        });
        // Before, every parsed request was answered at once into the unread queue (the poster's 256 KB each).
        expect(watch.counts.maxInFlight).toBe(1);
        expect(watch.counts.ok).toBeLessThanOrEqual(MAX_REQUESTS_PER_CONNECTION);
        // A fresh connection is answered meanwhile.
        const r = await fetch(`${http.url}/healthz`);
        expect(r.status).toBe(200);
      }, 30_000);
    }
  });
  it(`the hub's HTTP side: 20,000 pipelined GET /api/config on one unread connection, one answer under way at a time`, async () => {
    const hub = new Hub({ port: 0, clusterSecret: 'answer-in-turn-secret-0123', httpRatePerS: 1_000_000, httpBurst: 1_000_000 });
    const url = await hub.start();
    cleanup.push(() => hub.close());
    const watch = watchAnswers();
    cleanup.push(watch.restore);
    const sock = await pipelineUnread(Number(new URL(url).port), '/api/config', 20_000);
    cleanup.push(() => sock.destroy());
    await vi.waitFor(
      () => expect((watch.counts.refused > 0 && watch.counts.ok >= 2) || watch.counts.ok > MAX_REQUESTS_PER_CONNECTION).toBe(true),
      { timeout: 15_000, interval: 20 },
    );
    expect(watch.counts.maxInFlight).toBe(1);
    expect(watch.counts.ok).toBeLessThanOrEqual(MAX_REQUESTS_PER_CONNECTION);
  }, 30_000);
});
