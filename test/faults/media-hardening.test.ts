// Fault row 24: what a media server probes and serves — viewer ICE candidates to disallowed
// addresses, a symlink swapped into storage, and non-WebM bytes offered as a broadcast.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect as netConnect, isIP } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, ROOT, waitFor } from '../helpers/cluster.js';
import { createPeer } from '../../node-app/webrtc/peer.js';
import { IceFilter, parseIceAllow } from '../../node-app/webrtc/ice-filter.js';
import { recordFigure } from './helpers/figures.js';
import { ask, connect, serverUrl, sleep } from './helpers/net.js';
import { openRawPublisher } from './helpers/raw-publisher.js';

function udpListener(address: string): Promise<{ socket: UdpSocket; port: number; packets: () => number }> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
    let packets = 0;
    socket.on('message', () => packets++);
    socket.once('error', reject);
    socket.bind(0, address, () => resolve({ socket, port: socket.address().port, packets: () => packets }));
  });
}

async function droppedCandidates(url: string, reason: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^baton_server_ice_candidates_dropped_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** An address of this machine's own interfaces that the default ICE policy refuses (private or ULA), if it has one. */
function privateAddressOfThisMachine() {
  const policy = new IceFilter(parseIceAllow('loopback'));
  return Object.values(networkInterfaces())
    .flat()
    .find(
      (a) =>
        a && !a.internal && !a.address.startsWith('fe80') && policy.check(`candidate:1 1 UDP 1 ${a.address} 9 typ host`) === 'restricted',
    );
}
describe('row 24: candidates, symlinks and media types on a media server', () => {
  const cluster = new Cluster({
    rotationMs: 0,
    // Loopback only (the cluster's default also allows private ranges): the machine's private/ULA address is refused.
    servers: [
      {
        id: 'fra-1',
        region: 'eu-central',
        lat: 50.11,
        lon: 8.68,
        ingest: true,
        assets: ['demo-testsrc'],
        extraArgs: ['--ice-allow', 'loopback'],
      },
    ],
  });
  const outside = mkdtempSync(join(tmpdir(), 'baton-outside-'));
  beforeAll(async () => {
    await cluster.start();
  }, 60_000);
  afterAll(async () => {
    await cluster.stop();
    rmSync(outside, { recursive: true, force: true });
  });

  it('a viewer candidate to a private address or a hostname is dropped and counted; the viewer still connects', async () => {
    const url = await serverUrl(cluster, 'fra-1');
    const socket = await connect(cluster.hubUrl);
    let peer: ReturnType<typeof createPeer> | undefined;
    let denied: Awaited<ReturnType<typeof udpListener>> | undefined;
    try {
      const reply = await ask(socket, 'watch', { assetId: 'demo-testsrc' });
      expect(reply.ok).toBe(true);
      // Made after the reply: its offer is emitted at once and must find the handler below.
      peer = createPeer({ initiator: true });
      const connected = new Promise<void>((resolve) => peer!.once('connect', () => resolve()));
      socket.on('signal', (m: { sessionId: string; data: unknown }) => m.sessionId === reply.sessionId && peer!.signal(m.data as never));
      // The viewer's own candidates name this machine's addresses. Before the first one goes out the
      // viewer offers, at a higher priority, one on a private address of this machine and a hostname.
      const policy = new IceFilter(parseIceAllow('loopback'));
      const line = (prio: number, addr: string, port: number) => `candidate:${prio} 1 UDP ${prio} ${addr} ${port} typ host`;
      const held: unknown[] = [];
      const injected = (async () => {
        const own = await waitFor<{ address: string; sdpMid?: string; sdpMLineIndex?: number | null }>(
          'a private address among the viewer candidates',
          () => {
            for (const d of held as Array<{ candidate: { candidate: string; sdpMid?: string; sdpMLineIndex?: number | null } }>) {
              const address = d.candidate.candidate.replace(/^a=/, '').split(' ')[4]!;
              if (policy.check(line(1, address, 9)) === 'restricted')
                return { address, sdpMid: d.candidate.sdpMid, sdpMLineIndex: d.candidate.sdpMLineIndex };
            }
            return undefined;
          },
          10_000,
          10,
        );
        denied = await udpListener(own.address);
        for (const candidate of [line(2130706431, own.address, denied.port), line(2130706430, 'localhost', denied.port)]) {
          socket.emit('signal', {
            sessionId: reply.sessionId,
            data: { type: 'candidate', candidate: { candidate, sdpMid: own.sdpMid, sdpMLineIndex: own.sdpMLineIndex } },
          });
        }
        for (const data of held.splice(0)) socket.emit('signal', { sessionId: reply.sessionId, data });
      })();
      let released = false;
      void injected.then(() => (released = true));
      peer.on('signal', (data: { type?: string }) => {
        if (data.type === 'candidate' && !released) held.push(data);
        else socket.emit('signal', { sessionId: reply.sessionId, data });
      });
      await injected;
      await connected;
      // The viewer can connect before its relayed candidates reach the server (a peer-reflexive pair from the
      // server's own checks): the count is read until they have arrived, not once.
      await expect.poll(() => droppedCandidates(url, 'restricted'), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
      await expect.poll(() => droppedCandidates(url, 'hostname'), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
      // The refused candidate had the highest priority: had it reached the ICE agent it would be checked first.
      expect(denied!.packets(), 'connectivity checks sent to the refused candidate').toBe(0);
      recordFigure('media_hardening.denied_candidate_packets', denied!.packets());
    } finally {
      peer?.destroy();
      socket.close();
      denied?.socket.close();
    }
  }, 60_000);

  it('a WHEP offer carrying a candidate to a private (or ULA) address of this machine is filtered: no packet goes there', async () => {
    const url = await serverUrl(cluster, 'fra-1');
    const own = privateAddressOfThisMachine();
    if (!own) return console.warn('no private address on this machine: WHEP candidate case not run');
    const denied = await udpListener(own.address);
    try {
      const before = await droppedCandidates(url, 'restricted');
      // The fixture's own candidate (loopback) stays; the injected one, at a higher priority, must never be probed.
      const offer = readFileSync(join(ROOT, 'test/fixtures/whep-offer.sdp'), 'utf8').replace(
        /(a=mid:video0[\r\n]+)/,
        `$1a=candidate:9 1 UDP 2130706431 ${own.address} ${denied.port} typ host\r\n`,
      );
      const res = await fetch(`${cluster.hubUrl}/whep/demo-testsrc`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp' },
        body: offer,
      });
      expect(res.status, await res.clone().text()).toBe(201);
      await expect.poll(() => droppedCandidates(url, 'restricted'), { timeout: 10_000 }).toBeGreaterThan(before);
      await sleep(1_500);
      expect(denied.packets(), 'connectivity checks sent to the refused candidate').toBe(0);
      await fetch(`${cluster.hubUrl}${res.headers.get('location')}`, { method: 'DELETE' });
    } finally {
      denied.socket.close();
    }
  }, 30_000);

  it('a viewer candidate to a private address of this machine, untyped or riding on the watch offer, is dropped: no packet goes there', async () => {
    const url = await serverUrl(cluster, 'fra-1');
    const own = privateAddressOfThisMachine();
    if (!own) return console.warn('no private address on this machine: untyped candidate case not run');
    const denied = await udpListener(own.address);
    const socket = await connect(cluster.hubUrl);
    const peers: Array<ReturnType<typeof createPeer>> = [];
    try {
      const before = await droppedCandidates(url, 'restricted');
      /** A viewer's first offer (its own candidates trickle after it and are not sent), and the candidate to inject. */
      const offerOf = async () => {
        const peer = createPeer({ initiator: true });
        peers.push(peer);
        const offer = await new Promise<{ type: string; sdp: string }>((r) =>
          peer.on('signal', (d: { type?: string; sdp?: string }) => d.type === 'offer' && r(d as { type: string; sdp: string })),
        );
        const sdpMid = /a=mid:(\S+)/.exec(offer.sdp)?.[1] ?? '0';
        const candidate = { candidate: `candidate:9 1 UDP 2130706431 ${own.address} ${denied.port} typ host`, sdpMid, sdpMLineIndex: 0 };
        return { offer, candidate };
      };
      // Rev1 #4: simple-peer adds `data.candidate` whatever the `type`; the filter looked only at type 'candidate'.
      const inOffer = await offerOf();
      const a = await ask(socket, 'watch', { assetId: 'demo-testsrc', offer: { ...inOffer.offer, candidate: inOffer.candidate } });
      expect(a.ok).toBe(true);
      const untyped = await offerOf();
      const b = await ask(socket, 'watch', { assetId: 'demo-testsrc', offer: untyped.offer });
      expect(b.ok).toBe(true);
      socket.emit('signal', { sessionId: b.sessionId, data: { candidate: untyped.candidate } });
      socket.emit('signal', { sessionId: b.sessionId, data: { type: 'answer', candidate: untyped.candidate } });
      // Until the three were dropped, or (the old code) one reached the ICE agent and it sent a check.
      await expect
        .poll(async () => (await droppedCandidates(url, 'restricted')) >= before + 3 || denied.packets() > 0, { timeout: 10_000 })
        .toBe(true);
      // The reviewer's run saw 3 STUN requests within a second of the candidate arriving.
      await sleep(1_500);
      expect(denied.packets(), 'connectivity checks sent to the refused candidate').toBe(0);
      expect(await droppedCandidates(url, 'restricted')).toBeGreaterThanOrEqual(before + 3);
    } finally {
      for (const p of peers) p.destroy();
      socket.close();
      denied.socket.close();
    }
  }, 30_000);

  it('GET /media/<id>.webm of a symlink swapped into storage: 404, not one byte of the target', async () => {
    const url = await serverUrl(cluster, 'fra-1');
    const storage = cluster.servers.get('fra-1')!.storage;
    const secret = Buffer.from('outside-the-storage-root '.repeat(40));
    const target = join(outside, 'secret.webm');
    writeFileSync(target, secret);
    const planted = join(storage, 'swapped.webm');
    writeFileSync(planted, readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')));
    await waitFor(
      'swapped in the catalog',
      async () => (await fetch(`${url}/media/swapped.webm`, { method: 'HEAD' })).status === 200,
      10_000,
      50,
    );
    // Swap before the next rescan (every 2 s) and ask at once.
    unlinkSync(planted);
    symlinkSync(target, planted);
    const res = await fetch(`${url}/media/swapped.webm`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(404);
    expect(body.includes(Buffer.from('outside-the-storage-root'))).toBe(false);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const ok = await fetch(`${url}/media/demo-testsrc.webm`, { headers: { range: 'bytes=0-99' } });
    expect(ok.status).toBe(206);
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await ok.arrayBuffer()).byteLength).toBe(100);
  }, 30_000);

  it('GET /media answers Range as RFC 9110 says: one byte range 206, none of the file 416, what it may ignore 200', async () => {
    const url = await serverUrl(cluster, 'fra-1');
    const source = readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm'));
    const size = source.length;
    const get = async (range: string) => {
      const res = await fetch(`${url}/media/demo-testsrc.webm`, { headers: { range } });
      const body = Buffer.from(await res.arrayBuffer());
      return { status: res.status, contentRange: res.headers.get('content-range'), body };
    };
    const cases: Array<[string, number, [number, number] | 'whole' | 'none']> = [
      ['bytes=0-99', 206, [0, 99]],
      ['bytes=-100', 206, [size - 100, size - 1]],
      [`bytes=${size - 10}-`, 206, [size - 10, size - 1]],
      ['bytes=100-18446744073709551616', 206, [100, size - 1]],
      // Overlapping and adjacent ranges are one range.
      ['bytes=0-9,10-19', 206, [0, 19]],
      // Several ranges would need multipart/byteranges; another unit and a malformed header must or may be ignored.
      ['bytes=0-9,100-109', 200, 'whole'],
      ['items=0-9', 200, 'whole'],
      ['bytes=abc', 200, 'whole'],
      [`bytes=${size}-`, 416, 'none'],
      // Reversed bounds are an invalid range, which 416 may answer (RFC 9110 §15.5.17).
      ['bytes=20-10', 416, 'none'],
      ['bytes=-0', 416, 'none'],
    ];
    for (const [range, status, want] of cases) {
      const r = await get(range);
      expect({ range, status: r.status }).toEqual({ range, status });
      if (want === 'whole') expect(r.body.equals(source)).toBe(true);
      else if (want === 'none') expect(r.contentRange).toBe(`bytes */${size}`);
      else {
        expect(r.contentRange).toBe(`bytes ${want[0]}-${want[1]}/${size}`);
        expect(r.body.equals(source.subarray(want[0], want[1] + 1))).toBe(true);
      }
    }
  }, 30_000);

  it('1,000 pipelined GET /media on one unread connection hold at most one file open, and none once it closes', async () => {
    const url = new URL(await serverUrl(cluster, 'fra-1'));
    const pid = cluster.servers.get('fra-1')!.child.pid!;
    const fds = () => readdirSync(`/proc/${pid}/fd`).length;
    const baseline = fds();
    const sock = netConnect(Number(url.port), url.hostname);
    sock.on('error', () => undefined);
    await new Promise<void>((r) => sock.once('connect', () => r()));
    // Never read: the first answer fills the socket, the rest queue behind it.
    sock.pause();
    sock.write('GET /media/demo-testsrc.webm HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(1_000));
    await sleep(1_000);
    const held = fds() - baseline;
    sock.destroy();
    await waitFor('the server back at its descriptors', () => fds() <= baseline + 2, 10_000, 50);
    // One socket and the file being sent, give or take the server's own churn (the old code held 1,000+).
    expect(held).toBeLessThan(20);
    recordFigure('media_hardening.pipelined_gets_fds_held', held);
  }, 30_000);

  it('non-WebM bytes and WebM with a codec outside the list are refused with unsupported-media; nothing is stored', async () => {
    const storage = cluster.servers.get('fra-1')!.storage;
    const webm = new Uint8Array(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')).subarray(0, 200_000));
    const codecAt = Buffer.from(webm).indexOf('V_VP');
    expect(codecAt).toBeGreaterThan(0);
    const badCodec = new Uint8Array(webm);
    badCodec.set(Buffer.from('V_XXX'), codecAt);
    const notWebm = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
    notWebm.set(Buffer.from('ID3\x04\x00'), 0);
    let refused = 0;
    for (const [id, bytes] of [
      ['not-webm', notWebm],
      ['bad-codec', badCodec],
    ] as const) {
      const pub = await openRawPublisher(cluster.hubUrl, id);
      try {
        void pub.flood(bytes, 16_000);
        const outcome = await Promise.race([pub.closed, sleep(15_000).then(() => 'still open' as const)]);
        expect(outcome, id).toEqual({ error: 'unsupported-media' });
        const said = pub.received.find((m) => m.t === 'error');
        expect(said && 'message' in said ? said.message : '', id).toMatch(
          id === 'bad-codec' ? /codec "V_XXX" is not accepted/ : /does not start with an EBML header/,
        );
        refused++;
        await waitFor(
          `no ${id} file in storage`,
          () => !existsSync(join(storage, `${id}.webm.part`)) && !existsSync(join(storage, `${id}.webm`)),
          10_000,
          50,
        );
      } finally {
        pub.close();
      }
    }
    recordFigure('media_hardening.non_webm_refused', refused);
  }, 60_000);
});
