// Slow-loris: a client that sends its request a byte at a time. Node's defaults let it hold a connection (and on the
// hub a WHIP/WHEP body of up to 32 KiB) for 60 s of headers or 300 s of request; the hub and the media servers now
// answer 408 and close after REQUEST_RECEIVE_TIMEOUT_MS (10 s). Real hub and media server.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../helpers/cluster.js';

/** Well under Node's own bounds (60 s headers, 300 s request), well over ours (10 s + a check interval). */
const GIVE_UP_MS = 45_000;

/** Sends `head`, then a byte of `drip` every 500 ms; what the server said before it hung up, or 'still open'. */
function trickle(url: string, head: string, drip: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s: Socket = connect({ host: hostname, port: Number(port) });
    let got = '';
    let i = 0;
    const timer = setInterval(() => s.writable && s.write(drip[i++ % drip.length]!), 500);
    const giveUp = setTimeout(() => {
      s.destroy();
      resolve('still open');
    }, GIVE_UP_MS);
    s.on('data', (d) => (got += d.toString()));
    s.once('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve(got || 'closed without an answer');
    });
    s.on('error', () => undefined);
    s.write(head);
  });
}

/**
 * Streams a chunked body that never ends, as fast as the hub takes it, and stops at `capBytes`: how much went before
 * the hub closed the connection, and what it answered.
 */
function flood(url: string, path: string, capBytes: number): Promise<{ sent: number; answer: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s: Socket = connect({ host: hostname, port: Number(port) });
    const chunk = Buffer.concat([Buffer.from(`${(64 * 1024).toString(16)}\r\n`), Buffer.alloc(64 * 1024, 97), Buffer.from('\r\n')]);
    let sent = 0;
    let answer = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      // What reached the kernel, not what was queued in this process.
      const written = s.bytesWritten - s.writableLength;
      s.destroy();
      resolve({ sent: written, answer });
    };
    const pump = () => {
      while (!done && sent < capBytes) {
        sent += 64 * 1024;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      if (sent >= capBytes) finish();
    };
    s.on('data', (d) => (answer += d.toString()));
    s.once('close', finish);
    s.on('error', () => undefined);
    s.once('connect', () => {
      s.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nTransfer-Encoding: chunked\r\n\r\n`);
      pump();
    });
  });
}

/** Sends `request` on a fresh connection; the answer's head. */
function rawExchange(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s: Socket = connect({ host: hostname, port: Number(port) });
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      const end = got.indexOf('\r\n\r\n');
      if (end >= 0) {
        s.destroy();
        resolve(got.slice(0, end));
      }
    });
    s.on('error', reject);
    s.write(request);
  });
}

describe('slow requests', () => {
  const cluster = new Cluster({ servers: [{ id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: [] }] });
  beforeAll(() => cluster.start(), 120_000);
  afterAll(() => cluster.stop());

  it('a WHEP/WHIP body or headers sent a byte at a time get 408 from the hub and the media server', async () => {
    const server = (await cluster.state()).servers[0]!.httpUrl!;
    const answers = await Promise.all([
      trickle(
        cluster.hubUrl,
        'POST /whep/demo-testsrc HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 30000\r\n\r\nv=0\r\n',
        'a',
      ),
      trickle(
        cluster.hubUrl,
        'POST /whip/slow?location=Paris HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nAuthorization: Bearer test-key\r\nContent-Length: 30000\r\n\r\n',
        'a',
      ),
      trickle(cluster.hubUrl, 'GET /api/catalog HTTP/1.1\r\n', 'X-Pad: y\r\n'),
      trickle(server, 'GET /media/x.webm HTTP/1.1\r\n', 'X-Pad: y\r\n'),
    ]);
    for (const a of answers) expect(a).toMatch(/^HTTP\/1\.1 408/);
  }, 60_000);

  it('a body refused (413) or answered unread (401, 404, 405): the connection closes, the rest is not read for as long as it comes', async () => {
    // Before: read and discarded at line rate until the request timeout (1.5 GB in 10 s over loopback; 300 s before
    // the 10-s bound). Now at most 1 MiB or 2 s more, as nginx's lingering close.
    const cap = 256 * 1024 * 1024;
    const server = (await cluster.state()).servers[0]!.httpUrl!;
    // A body past the bound (413), and bodies answered before they were read: no Bearer token (401), a path that
    // takes no body (405 on the hub, 404 on a media server).
    const floods = await Promise.all([
      flood(cluster.hubUrl, '/whep/demo-testsrc', cap),
      flood(cluster.hubUrl, '/whip/x?location=Paris', cap),
      flood(cluster.hubUrl, '/api/catalog', cap),
      flood(server, '/media/x.webm', cap),
    ]);
    expect(floods.map((r) => r.answer.slice(0, 12))).toEqual(['HTTP/1.1 413', 'HTTP/1.1 401', 'HTTP/1.1 405', 'HTTP/1.1 404']);
    for (const r of floods) expect(r.sent).toBeLessThan(cap);
    // Each answer says the connection closes: a keep-alive client must not send its next request on it.
    for (const r of floods) expect(r.answer.split('\r\n\r\n')[0]).toMatch(/\r\nconnection: close\r\n/i);
    // A client that sent its whole (too large) body at once reads the 413, not a reset.
    const big = await fetch(`${cluster.hubUrl}/whep/demo-testsrc`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: `v=0\r\n${'a=x:y\r\n'.repeat(8_000)}`,
    });
    expect(big.status).toBe(413);
    // …and sends its next request on another connection: each is answered (before, under load, one in a CI run met
    // "other side closed": sent on the connection the 413 was ending).
    for (let i = 0; i < 20; i++) {
      const refused = await fetch(`${cluster.hubUrl}/whip/x?location=Paris`, { method: 'POST', body: 'v=0\r\n'.repeat(10_000) });
      expect(refused.status).toBe(415); // no Content-Type: answered before the body is read
      await refused.text();
      expect((await fetch(`${cluster.hubUrl}/api/catalog`)).status).toBe(200);
    }
    // A request whose body was read keeps its connection.
    const kept = await rawExchange(cluster.hubUrl, 'GET /api/catalog HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(kept).toMatch(/^HTTP\/1\.1 200/);
    expect(kept).toMatch(/\r\nconnection: keep-alive\r\n/i);
  }, 60_000);
});
