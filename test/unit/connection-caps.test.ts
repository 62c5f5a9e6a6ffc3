// Connection caps on a real HTTP server over loopback: per address, in all, and the count falling as sockets close.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { boundedRequestOptions, capConnections, type ConnectionCapOptions, type ConnectionCounts } from '../../common/connection-caps.js';

let server: Server | undefined;
const open: Socket[] = [];

afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function start(o: Partial<ConnectionCapOptions>): Promise<{ port: number; counts: ConnectionCounts; refused: string[] }> {
  const refused: string[] = [];
  server = createServer((_req, res) => res.end('ok'));
  const counts = capConnections(server, { perIp: 0, total: 0, exempt: () => false, onRefused: (why) => refused.push(why), ...o });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, counts, refused };
}

/** Opens a connection and asks for `/` on it (keep-alive): 'served' once a response starts, 'closed' if the server hung up first. */
function ask(port: number, host = '127.0.0.1', from?: string): Promise<'served' | 'closed'> {
  return new Promise((resolve) => {
    const s = connect({ port, host, ...(from ? { localAddress: from } : {}) });
    open.push(s);
    s.once('data', () => resolve('served'));
    s.once('close', () => resolve('closed'));
    s.on('error', () => undefined);
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

describe('capConnections', () => {
  it('refuses an address past its cap while its connections stay open, and takes it again once one closes', async () => {
    const { port, counts, refused } = await start({ perIp: 3 });
    expect(await Promise.all([ask(port), ask(port), ask(port)])).toEqual(['served', 'served', 'served']);
    expect(counts.of('127.0.0.1')).toBe(3);
    expect(await ask(port)).toBe('closed');
    expect(refused).toEqual(['per-ip']);
    open[0]!.destroy();
    await expect.poll(() => counts.of('127.0.0.1')).toBe(2);
    expect(await ask(port)).toBe('served');
    for (const s of open) s.destroy();
    await expect.poll(() => counts.addresses()).toBe(0);
  });

  it('does not cap exempt addresses per address, but the total still holds', async () => {
    const { port, counts, refused } = await start({ perIp: 1, total: 4, exempt: (a) => a === '127.0.0.1' });
    expect(await Promise.all([ask(port), ask(port), ask(port), ask(port)])).toEqual(['served', 'served', 'served', 'served']);
    expect(counts.addresses()).toBe(0);
    expect(await ask(port)).toBe('closed');
    expect(refused).toEqual(['total']);
  });

  it('keeps a tenth of the total for cluster members: other addresses are refused past the rest', async () => {
    const { port, refused } = await start({ total: 10, exempt: () => true, cluster: (a) => a === '127.0.0.1' });
    const others = await Promise.all(Array.from({ length: 10 }, (_, i) => ask(port, '127.0.0.1', `127.0.0.${i + 2}`)));
    expect(others.filter((a) => a === 'served')).toHaveLength(9);
    expect(refused).toEqual(['total']);
    expect(await ask(port)).toBe('served');
    expect(await ask(port)).toBe('closed');
    expect(refused).toEqual(['total', 'total']);
  });

  it('counts an IPv6 client by its /64', async () => {
    const { port, counts } = await start({ perIp: 2 });
    // Loopback over IPv6 is one /64 (::1 keys as 0:0:0:0::/64); the cap holds across its addresses alike.
    await new Promise<void>((r) => server!.close(() => r()));
    await new Promise<void>((r) => server!.listen(port, '::1', () => r()));
    const ask6 = () => ask(port, '::1');
    expect(await Promise.all([ask6(), ask6()])).toEqual(['served', 'served']);
    expect(counts.of('::1')).toBe(2);
    expect(counts.of('0:0:0:0:0:0:0:2')).toBe(2);
    expect(await ask6()).toBe('closed');
  });

  it('0 turns each cap off', async () => {
    const { port, refused } = await start({ perIp: 0, total: 0 });
    const answers = await Promise.all(Array.from({ length: 80 }, () => ask(port)));
    expect(answers.every((a) => a === 'served')).toBe(true);
    expect(refused).toEqual([]);
  });
});

describe('boundedRequestOptions', () => {
  /** Sends `head` then one byte of `drip` every 50 ms; resolves with what the server said before it hung up. */
  function slowRequest(port: number, head: string, drip: string): Promise<string> {
    return new Promise((resolve) => {
      const s = connect({ port, host: '127.0.0.1' });
      open.push(s);
      let got = '';
      let i = 0;
      const timer = setInterval(() => s.writable && i < drip.length && s.write(drip[i++]!), 50);
      s.on('data', (d) => (got += d.toString()));
      s.once('close', () => {
        clearInterval(timer);
        resolve(got);
      });
      s.on('error', () => undefined);
      s.write(head);
    });
  }

  it('a request whose body or headers trickle in is answered 408 and closed, not held for minutes', async () => {
    server = createServer(boundedRequestOptions(400), (req, res) => {
      req.resume();
      req.on('end', () => res.end('whole'));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    const body = 'v=0\r\n'.repeat(2_000);
    const [slowBody, slowHeaders] = await Promise.all([
      slowRequest(
        port,
        `POST /whep/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: ${body.length}\r\n\r\n`,
        body,
      ),
      slowRequest(port, 'GET / HTTP/1.1\r\n', `Host: x\r\n${'X-Pad: y\r\n'.repeat(500)}\r\n`),
    ]);
    expect(slowBody).toMatch(/^HTTP\/1\.1 408/);
    expect(slowHeaders).toMatch(/^HTTP\/1\.1 408/);
  }, 20_000);
});
