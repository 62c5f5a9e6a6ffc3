// WHEP players on a lossy path get lost packets back on a NACK, within bounds: real WhepSessions (libdatachannel on
// loopback) over a real disk store, a libdatachannel player that writes its own RTCP, and a relay that drops packets.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { linkSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCache, createCachedSource, DEFAULT_CACHE_POLICY } from '../../node-app/cache/index.js';
import { DiskStore } from '../../node-app/storage/disk-store.js';
import { MAX_RESENDS_PER_RTCP, NACK_RESEND_BYTES_PER_S } from '../../node-app/whep/nack-responder.js';
import { WhepManager } from '../../node-app/whep/whep-manager.js';
import type { WhepFeedback } from '../../node-app/whep/whep-session.js';
import type { Ack } from '../../signaling/protocol/index.js';
import { ensureDemoMedia } from '../../scripts/make-demo-media.js';
import { Cluster, MEDIA_DIR } from '../helpers/cluster.js';
import { scrape } from '../helpers/prometheus.js';
import { openRtpPlayer, type RtpPlayer } from '../helpers/whep-rtp-player.js';

const dir = mkdtempSync(join(tmpdir(), 'whep-nack-'));
let store: DiskStore;
const open: { close(): void }[] = [];

beforeAll(async () => {
  await ensureDemoMedia(MEDIA_DIR);
  linkSync(join(MEDIA_DIR, 'demo-smpte.webm'), join(dir, 'demo-smpte.webm'));
  store = await DiskStore.open(dir);
}, 60_000);
afterEach(() => {
  for (const o of open.splice(0).reverse()) o.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A WhepManager feeding one player of demo-smpte through a relay; `feedback` collects what the server counted. */
async function play(opts: { nackHistoryPackets?: number } = {}) {
  const cache = createCache({ policy: DEFAULT_CACHE_POLICY, budgetBytes: 8 * 1024 * 1024 });
  const feedback: WhepFeedback[] = [];
  const whep = new WhepManager({
    openSource: (id) => (store.stat(id) ? { source: createCachedSource(store, cache, id, Date.now), stored: true } : undefined),
    emitToHub: () => undefined,
    bindAddress: '127.0.0.1',
    feedback: (f) => feedback.push(f),
    ...opts,
  });
  open.push(whep);
  const player = await openRtpPlayer(
    (sdp) =>
      new Promise<Ack<{ sdp: string }>>((resolve) =>
        whep.offer({ resourceId: `nack-${open.length}-aaaaaaaaaaaa`, assetId: 'demo-smpte', sdp }, resolve),
      ),
  );
  open.push(player);
  return { whep, player, feedback, stats: () => whep.stats()[0]! };
}

/** The server's video datagrams that crossed the relay (dropped or not). */
const video = (p: RtpPlayer) => p.relay.fromServer.filter((d) => d.ssrc === p.videoSsrc);

describe('WHEP NACKs', () => {
  it('a packet the path lost comes back once on a NACK, byte-identical on the wire, and is counted', async () => {
    const { player, feedback, stats } = await play();
    // The path loses every 7th video packet of the first 50 (a real gap the player sees: it never decrypted them).
    let n = 0;
    player.relay.drop = (d) => d.ssrc === player.videoSsrc && ++n <= 50 && n % 7 === 0;
    await vi.waitFor(() => expect(video(player).length).toBeGreaterThan(60), { timeout: 20_000, interval: 50 });
    const lost = video(player).filter((d) => d.dropped);
    expect(lost).toHaveLength(7);
    for (const d of lost) expect(player.received.has(d.seq)).toBe(false);
    player.nack(lost.map((d) => d.seq));
    await vi.waitFor(() => expect(lost.every((d) => player.received.has(d.seq))).toBe(true), { timeout: 10_000, interval: 20 });
    // A PLI too: counted once (libdatachannel hands a track each feedback packet once per SSRC it names).
    player.pli();
    await vi.waitFor(() => expect(stats().plis).toBe(1), { timeout: 5_000, interval: 20 });
    for (const d of lost) {
      const again = video(player).filter((x) => !x.dropped && x.seq === d.seq);
      // Once, not twice (before: libdatachannel's RtcpNackResponder answered each NACK twice), and the same SRTP bytes:
      // same SSRC, sequence number, payload and key stream.
      expect(again.map((x) => x.bytes.equals(d.bytes))).toEqual([true]);
      expect(player.received.get(d.seq)).toHaveLength(1);
    }
    expect(stats()).toMatchObject({ nacks: 1, retransmits: 7, nackRefused: 0, plis: 1 });
    expect(feedback).toEqual([{ kind: 'nack', nacks: 1, resent: 7, unavailable: 0, refused: 0 }, { kind: 'pli' }]);
  }, 60_000);

  it('a NACK for a packet older than the kept history gets nothing back', async () => {
    const { player, feedback } = await play({ nackHistoryPackets: 32 });
    let n = 0;
    player.relay.drop = (d) => d.ssrc === player.videoSsrc && (++n === 3 || n === 60);
    await vi.waitFor(() => expect(video(player).length).toBeGreaterThan(70), { timeout: 20_000, interval: 50 });
    const [old, recent] = video(player).filter((d) => d.dropped);
    // One NACK for both: the packets it asks for are answered in order, so once the recent one is back, the old one
    // would have been too.
    player.nack([old!.seq, recent!.seq]);
    await vi.waitFor(() => expect(player.received.has(recent!.seq)).toBe(true), { timeout: 10_000, interval: 20 });
    expect(player.received.has(old!.seq)).toBe(false);
    expect(video(player).filter((x) => x.seq === old!.seq)).toHaveLength(1);
    expect(feedback).toEqual([{ kind: 'nack', nacks: 1, resent: 1, unavailable: 1, refused: 0 }]);
  }, 60_000);

  it('a flood of NACKs for every held packet is answered within the per-NACK and per-second bounds', async () => {
    const { player, feedback, stats } = await play();
    await vi.waitFor(() => expect(video(player).length).toBeGreaterThan(100), { timeout: 20_000, interval: 50 });
    const held = video(player).map((d) => d.seq);
    const resentBytes = () => {
      const seen = new Set<number>();
      let bytes = 0;
      for (const d of video(player))
        if (seen.has(d.seq)) bytes += d.bytes.length;
        else seen.add(d.seq);
      return bytes;
    };
    // The first NACK asks for all of them (a 40-odd-byte RTCP packet): the server resends MAX_RESENDS_PER_RTCP.
    const start = performance.now();
    player.nack(held);
    await vi.waitFor(() => expect(feedback).toHaveLength(1), { timeout: 5_000, interval: 10 });
    expect(feedback[0]).toMatchObject({ kind: 'nack', resent: MAX_RESENDS_PER_RTCP, refused: held.length - MAX_RESENDS_PER_RTCP });
    // Then 200 more, every 5 ms, each a little different (an identical one within DUPLICATE_RTCP_MS is taken for the
    // same packet handed twice, and ignored).
    for (let i = 1; i <= 200; i++) {
      player.nack(held.slice(i % 17));
      await new Promise((r) => setTimeout(r, 5));
    }
    await vi.waitFor(() => expect(stats().nacks).toBe(201), { timeout: 10_000, interval: 20 });
    const elapsedS = (performance.now() - start) / 1000;
    // Resent RTP bytes, at most one second's budget plus the budget's rate over the flood (SRTP adds its tag: what a
    // datagram on the wire holds more than the player decrypted).
    const sample = video(player).find((d) => player.received.has(d.seq))!;
    const tag = sample.bytes.length - player.received.get(sample.seq)![0]!.length;
    const rtpResent = resentBytes() - tag * stats().retransmits;
    expect(rtpResent).toBeLessThanOrEqual(NACK_RESEND_BYTES_PER_S * (1 + elapsedS));
    expect(stats().nackRefused).toBeGreaterThan(0);
    // Every NACK resent at most its share, however the budget stood.
    for (const f of feedback) if (f.kind === 'nack') expect(f.resent).toBeLessThanOrEqual(MAX_RESENDS_PER_RTCP);
    console.log(
      `NACK flood: 201 NACKs of ${12 + 4 * Math.ceil(held.length / 17)} B for ${held.length} packets in ${elapsedS.toFixed(2)} s: ` +
        `${stats().retransmits} packets (${rtpResent} B of RTP) resent, ${stats().nackRefused} refused`,
    );
  }, 60_000);
});

describe('WHEP NACKs on a running server', () => {
  const cluster = new Cluster({
    servers: [
      { id: 'par-1', region: 'eu-west', lat: 48.86, lon: 2.35, assets: ['demo-smpte'], extraArgs: ['--rtc-bind-address', '127.0.0.1'] },
    ],
  });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it("counts a player's NACKs and the packets resent in the server's /metrics", async () => {
    const player = await openRtpPlayer(async (sdp) => {
      const r = await fetch(`${cluster.hubUrl}/whep/demo-smpte`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp' },
        body: sdp,
      });
      return r.status === 201
        ? { ok: true, sdp: await r.text() }
        : { ok: false, code: 'internal', message: `${r.status} ${await r.text()}` };
    });
    open.push(player);
    let n = 0;
    player.relay.drop = (d) => d.ssrc === player.videoSsrc && ++n === 10;
    await vi.waitFor(() => expect(video(player).length).toBeGreaterThan(20), { timeout: 20_000, interval: 50 });
    const lost = video(player).find((d) => d.dropped)!;
    player.nack([lost.seq, (lost.seq + 1) & 0xffff]);
    await vi.waitFor(() => expect(player.received.has(lost.seq)).toBe(true), { timeout: 10_000, interval: 20 });
    const server = (await cluster.state()).servers[0]!;
    const m = await scrape(`${server.httpUrl}/metrics`);
    expect(m.get('baton_server_whep_feedback_total{kind="nack"}')).toBe(1);
    expect(m.get('baton_server_whep_feedback_total{kind="pli"}')).toBe(0);
    // The lost packet and the one after it (which the player had: its second copy is dropped by the player's SRTP as a replay).
    expect(m.get('baton_server_whep_nacked_packets_total{result="resent"}')).toBe(2);
    expect(m.get('baton_server_whep_nacked_packets_total{result="refused"}')).toBe(0);
  }, 60_000);
});
