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
});
