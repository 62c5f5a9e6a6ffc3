// WHIP ingest end to end: GStreamer's webrtcbin (scripts/whip-publish.py) publishes to a real hub and two entry servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BATON, Cluster, ROOT, waitFor } from '../helpers/cluster.js';
import {
  copyBefore,
  expectResumedCopy,
  ffprobeFrames,
  GI_PACKAGES,
  HAVE_GI,
  INGEST_PAIR,
  PYTHON,
  whipPublish,
} from '../helpers/gstreamer.js';

if (!HAVE_GI) console.warn(`whip-ingest tests skipped: ${PYTHON} cannot import gi/GstWebRTC (install ${GI_PACKAGES})`);

const SERVERS = [...INGEST_PAIR];

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!HAVE_GI)('WHIP ingest from GStreamer', () => {
  const cluster = new Cluster({ servers: SERVERS });

  beforeAll(async () => {
    await cluster.start();
  }, 60_000);

  afterAll(async () => {
    await cluster.stop();
  });

  /** Until both entry servers report more than `bytes` of the live stream `id`. */
  const bothCopiesGrowing = (id: string, bytes: number) =>
    waitFor(
      `both copies of ${id} growing`,
      async () => {
        const servers = (await cluster.state()).servers;
        return SERVERS.every((s) =>
          (servers.find((x) => x.id === s.id)?.live as { id: string; bytes: number }[] | undefined)?.some(
            (l) => l.id === id && l.bytes > bytes,
          ),
        );
      },
      30_000,
    );

  it('stores a byte-identical, playable WebM (VP8 + Opus) on primary and backup, and `baton watch` plays it', async () => {
    const run = await whipPublish(`${cluster.hubUrl}/whip/whip-gst?location=Paris`, 'test-key', 4);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/POST 201/);
    expect(run.stderr).toMatch(/DELETE 200/);
    const files = SERVERS.map((s) => join(cluster.servers.get(s.id)!.storage, 'whip-gst.webm'));
    for (const f of files) expect(existsSync(f), `${f} finalized`).toBe(true);
    const [a, b] = files.map((f) => readFileSync(f));
    expect(sha256(a!)).toBe(sha256(b!));
    for (const s of SERVERS) expect(readdirSync(cluster.servers.get(s.id)!.storage).filter((f) => f.includes('.part'))).toEqual([]);
    const frames = ffprobeFrames(files[0]!);
    // 4 s at 30 fps and 50 Opus packets/s; some are lost to connection setup.
    expect(frames.vp8).toBeGreaterThan(30);
    expect(frames.opus).toBeGreaterThan(50);

    await waitFor('whip-gst in the catalog on both servers', async () => {
      const r = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as {
        assets: { id: string; holders: string[]; live: boolean }[];
      };
      const e = r.assets.find((x) => x.id === 'whip-gst');
      return e && e.holders.length === 2 && !e.live;
    });
    const out = join(mkdtempSync(join(tmpdir(), 'whip-watch-')), 'watched.webm');
    const watch = spawnSync(
      process.execPath,
      [BATON, 'watch', '--hub', cluster.hubUrl, '--asset', 'whip-gst', '--out', out, '--fast', '--json'],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    expect(watch.status, watch.stderr).toBe(0);
    const summary = JSON.parse(watch.stdout.trim().split('\n').at(-1)!) as { sha256: string; bytes: number };
    expect(summary.bytes).toBe(a!.byteLength);
    expect(summary.sha256).toBe(sha256(a!));
    expect(sha256(readFileSync(out))).toBe(sha256(a!));
  }, 90_000);

  it('answers errors with HTTP statuses and a reason, and reserves nothing for them', async () => {
    const offer = readFileSync(join(ROOT, 'test/fixtures/whip-offer.sdp'), 'utf8');
    const post = (path: string, init: { body?: string; type?: string; token?: string | null } = {}) =>
      fetch(`${cluster.hubUrl}${path}`, {
        method: 'POST',
        headers: {
          'content-type': init.type ?? 'application/sdp',
          ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? 'test-key'}` }),
        },
        body: init.body ?? offer,
      });
    const cases: [() => Promise<Response>, number, RegExp][] = [
      [() => post('/whip/e1?location=Paris', { token: 'wrong-key' }), 401, /key/i],
      [() => post('/whip/e1?location=Paris', { token: null }), 401, /Bearer/],
      [() => post('/whip/e1?location=Paris', { type: 'application/json' }), 415, /application\/sdp/],
      [() => post('/whip/e1?location=Paris', { body: 'hello' }), 400, /SDP/],
      [() => post('/whip/e1?location=Paris', { body: offer.replace(/VP8\/90000/g, 'H265/90000') }), 400, /VP8 or H\.264/],
      [
        () =>
          post('/whip/e1?location=Paris', {
            body: offer.replace(/VP8\/90000/g, 'H264/90000').replace('a=mid:video0', 'a=fmtp:96 packetization-mode=2\r\na=mid:video0'),
          }),
        400,
        /VP8 or H\.264/,
      ],
      [() => post('/whip/e1?location=Paris', { body: `${offer}a=x:${'y'.repeat(40 * 1024)}\r\n` }), 413, /larger than/],
      [() => post('/whip/e1'), 400, /location/],
      [() => post('/whip/e1?location=Paris&location=Lisbon'), 400, /location is given more than once/],
      [() => post('/whip/e1?location=Atlantis-on-Mars'), 400, /place/],
      // A place quoted back with what would reverse or hide its letters escaped (a page or a terminal shows it).
      [() => post(`/whip/e1?location=${encodeURIComponent('\u202eAtlantis\u200b')}`), 400, /unknown place: \\u202eAtlantis\\u200b/],
      [() => post('/whip/..%2Fetc?location=Paris'), 404, /WHIP endpoint/],
    ];
    for (const [send, status, reason] of cases) {
      const r = await send();
      expect(r.status).toBe(status);
      expect(await r.text()).toMatch(reason);
    }
    // The publisher (OBS) shows little of a refusal: the hub logs each one, status and reason.
    const refusals = () =>
      cluster
        .hub!.output()
        .split('\n')
        .filter((l) => l.includes('WHIP POST refused'))
        .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as { status: number; reason?: string });
    // Each line is written once its response has gone out, so a line may follow the next request's: compared as a set.
    await waitFor('the hub logged every refusal', async () => refusals().length >= cases.length, 15_000);
    expect(
      refusals()
        .map((l) => l.status)
        .sort(),
    ).toEqual(cases.map(([, status]) => status).sort());
    expect(refusals().every((l) => typeof l.reason === 'string' && l.reason.length > 0)).toBe(true);
    // None of those reserved e1: it can be published now, and then it is taken.
    const first = await post('/whip/e1?location=Paris');
    expect(first.status).toBe(201);
    const resource = new URL(first.headers.get('location')!, cluster.hubUrl).href;
    expect(first.headers.get('content-type')).toBe('application/sdp');
    expect(await first.text()).toMatch(/^v=0/);
    // A browser publisher on another origin (a web WHIP client) may send its key, read the resource and DELETE it.
    expect(first.headers.get('access-control-allow-origin')).toBe('*');
    expect(first.headers.get('access-control-expose-headers')).toMatch(/location/);
    const preflight = await fetch(`${cluster.hubUrl}/whip/e1?location=Paris`, { method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const preDelete = await fetch(resource, { method: 'OPTIONS' });
    expect(preDelete.status).toBe(204);
    expect(preDelete.headers.get('access-control-allow-methods')).toMatch(/DELETE/);
    const taken = await post('/whip/e1?location=Paris');
    expect(taken.status).toBe(409);
    expect(await taken.text()).toMatch(/still on air from an earlier POST with this key/);
    const wrongToken = await fetch(resource, { method: 'DELETE', headers: { authorization: 'Bearer nope' } });
    expect(wrongToken.status).toBe(401);
    // The relay's uploads attach before any media: both servers hold an empty copy of e1, live.
    await waitFor('empty copies of e1 on both servers', async () => {
      const servers = (await cluster.state()).servers;
      return servers.filter((s) => (s.live as { id: string; live: boolean }[]).some((l) => l.id === 'e1' && l.live)).length === 2;
    });
    // Nothing was sent on this resource (the fixture's peer never connects): DELETE ends it without a file.
    const ended = await fetch(resource, { method: 'DELETE', headers: { authorization: 'Bearer test-key' } });
    expect(ended.status).toBe(502);
    expect(await ended.text()).toMatch(/no media arrived/);
    expect((await fetch(resource, { method: 'DELETE', headers: { authorization: 'Bearer test-key' } })).status).toBe(404);
    // At once, not after the servers give the empty copies up (30 s): they held nothing to keep.
    const again = await post('/whip/e1?location=Paris');
    expect(again.status, await again.clone().text()).toBe(201);
  }, 60_000);

  // Last: it kills par-1.
  // The backup's copy is one keyframe interval (2 s here) or two: a salvage that kept only whole
  // Clusters kept nothing or the first few frames of it (ClusterIndex.latestCut keeps whole blocks).
  // Paris is closest to par-1: it is the primary, nyc-1 the backup (the primary's relay uploads to it).
  it.each([
    ['primary', 'par-1'],
    ['backup', 'nyc-1'],
  ])(
    'a %s the hub only thought dead (stopped past its heartbeats, then back) keeps its copy: DELETE finalizes both',
    async (role, stopped) => {
      const id = `whip-stall-${role}`;
      const publishing = whipPublish(`${cluster.hubUrl}/whip/${id}?location=Paris`, 'test-key', 30);
      await bothCopiesGrowing(id, 50_000);
      // What a loaded machine does to a server: its heartbeats stop, the hub removes it, then it runs again and re-registers.
      const proc = cluster.servers.get(stopped)!;
      const registered = () => (proc.output().match(/registered with hub/g) ?? []).length;
      const before = registered();
      proc.child.kill('SIGSTOP');
      try {
        await waitFor(`the hub without ${stopped}`, async () => !(await cluster.state()).servers.some((x) => x.id === stopped), 20_000);
      } finally {
        proc.child.kill('SIGCONT');
      }
      await waitFor(`${stopped} registered again`, async () => registered() > before, 20_000);
      publishing.stop();
      const run = await publishing;
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/DELETE 200/);
      const [a, b] = SERVERS.map((s) => readFileSync(join(cluster.servers.get(s.id)!.storage, `${id}.webm`)));
      expect(sha256(a!)).toBe(sha256(b!));
      expect(ffprobeFrames(join(cluster.servers.get('par-1')!.storage, `${id}.webm`)).vp8).toBeGreaterThan(30);
    },
    120_000,
  );

  it('a primary stopped while it finalizes (the hub drops its connection mid whip-end) is asked again once back: DELETE 200', async () => {
    const id = 'whip-stall-end';
    const publishing = whipPublish(`${cluster.hubUrl}/whip/${id}?location=Paris`, 'test-key', 30);
    await waitFor(
      `the backup storing ${id}`,
      async () => {
        const nyc = (await cluster.state()).servers.find((x) => x.id === 'nyc-1');
        return (nyc?.live as { id: string; bytes: number }[] | undefined)?.some((l) => l.id === id && l.bytes > 50_000);
      },
      30_000,
    );
    const proc = cluster.servers.get('par-1')!;
    const registered = () => (proc.output().match(/registered with hub/g) ?? []).length;
    const before = registered();
    proc.child.kill('SIGSTOP');
    // The DELETE comes while par-1 still counts as up: the hub asks it whip-end, and it cannot answer.
    publishing.stop();
    try {
      await waitFor('the hub without par-1', async () => !(await cluster.state()).servers.some((x) => x.id === 'par-1'), 20_000);
    } finally {
      proc.child.kill('SIGCONT');
    }
    await waitFor('par-1 registered again', async () => registered() > before, 20_000);
    // Before, the ask waited out its 70 s on the closed connection and the DELETE failed; now it is asked again.
    const run = await publishing;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/DELETE 200/);
    const [a, b] = SERVERS.map((s) => readFileSync(join(cluster.servers.get(s.id)!.storage, `${id}.webm`)));
    expect(sha256(a!)).toBe(sha256(b!));
  }, 120_000);

  it('a publisher that vanishes without DELETE: both copies finalized, the hub lets the key slot go, and the key carries the recording on within the window', async () => {
    const id = 'whip-vanish';
    const publishing = whipPublish(`${cluster.hubUrl}/whip/${id}?location=Paris`, 'test-key', 60);
    await bothCopiesGrowing(id, 30_000);
    const offer = readFileSync(join(ROOT, 'test/fixtures/whip-offer.sdp'), 'utf8');
    const repost = () =>
      fetch(`${cluster.hubUrl}/whip/${id}?location=Paris`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: 'Bearer test-key' },
        body: offer,
      });
    // Its own key again while the first POST is on air (OBS reconnecting): refused, saying why and what to do
    // (before: "being published by someone else").
    const twice = await repost();
    expect(twice.status).toBe(409);
    expect(await twice.text()).toMatch(/still on air from an earlier POST with this key .*DELETE that resource.*new stream id/);
    // A crash or a pulled cable: no DELETE. The primary finalizes after WHIP_IDLE_TIMEOUT_MS without RTP (or at once
    // when the peer's ICE closes).
    publishing.kill();
    await publishing;
    await waitFor(
      `${id} stored on both servers`,
      async () => {
        const r = (await (await fetch(`${cluster.hubUrl}/api/catalog?id=${id}`)).json()) as {
          assets: { holders: string[]; live: boolean }[];
        };
        return r.assets[0]?.live === false && r.assets[0].holders.length === 2;
      },
      40_000,
    );
    // The hub relays nothing for it any more: the resource, the stream id's reservation and the key's slot are gone
    // (before, all three stayed until the hub restarted: four such publishers left the key unable to broadcast at all).
    await waitFor('the hub relaying no WHIP broadcast', async () => {
      const m = await (await fetch(`${cluster.hubUrl}/metrics`)).text();
      return /baton_hub_whip_whep_resources\{kind="whip"\} 0/.test(m);
    });
    // The key that started it, back within the window (OBS restarted after a crash, its DELETE lost), carries the
    // recording on, as after a DELETE (before: 409 "already exists").
    const [firstA, firstB] = SERVERS.map((s) => readFileSync(join(cluster.servers.get(s.id)!.storage, `${id}.webm`)));
    expect(sha256(firstA!)).toBe(sha256(firstB!));
    const back = await whipPublish(`${cluster.hubUrl}/whip/${id}?location=Paris`, 'test-key', 3);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stderr).toMatch(/POST 201/);
    const end = JSON.parse(/DELETE 200 in \d+ ms: (.*)/.exec(back.stderr)![1]!) as { bytes: number; stored: string[] };
    expect(end.stored.sort()).toEqual(SERVERS.map((s) => s.id).sort());
    const [a, b] = SERVERS.map((s) => readFileSync(join(cluster.servers.get(s.id)!.storage, `${id}.webm`)));
    expect(a!.byteLength).toBe(end.bytes);
    expect(a!.byteLength).toBeGreaterThan(firstA!.byteLength);
    expect(sha256(a!)).toBe(sha256(b!));
    // The first part's bytes are unchanged at the head of the whole (carried on, not overwritten).
    expect(sha256(a!.subarray(0, firstA!.byteLength - 64))).toBe(sha256(firstA!.subarray(0, firstA!.byteLength - 64)));
  }, 120_000);

  it('keeps what the backup stored when the primary is SIGKILLed mid-broadcast, and a re-POST resumes it there', async () => {
    const publishing = whipPublish(`${cluster.hubUrl}/whip/whip-kill?location=Paris`, 'test-key', 30);
    const backup = cluster.servers.get('nyc-1')!.storage;
    // Paris is closest to par-1: it is the primary, nyc-1 the backup. Kill once the backup reports a few clusters stored.
    await waitFor(
      'the backup storing whip-kill',
      async () => {
        const nyc = (await cluster.state()).servers.find((x) => x.id === 'nyc-1');
        return (nyc?.live as { id: string; bytes: number }[] | undefined)?.some((l) => l.id === 'whip-kill' && l.bytes > 100_000);
      },
      30_000,
    );
    await cluster.kill('par-1');
    await waitFor('the hub without par-1', async () => !(await cluster.state()).servers.some((x) => x.id === 'par-1'));
    // Whatever the backup holds now must survive the resume unchanged.
    const before = copyBefore(join(backup, 'whip-kill.webm.part'));

    // Another key cannot take the id over; the stream key that started it resumes it on nyc-1.
    const offer = readFileSync(join(ROOT, 'test/fixtures/whip-offer.sdp'), 'utf8');
    const stranger = await fetch(`${cluster.hubUrl}/whip/whip-kill?location=Paris`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: 'Bearer other-key' },
      body: offer,
    });
    expect(stranger.status).toBe(409);
    expect(await stranger.text()).toMatch(/only the stream key that started it may resume it/);
    const resumed = await whipPublish(`${cluster.hubUrl}/whip/whip-kill?location=Paris`, 'test-key', 4);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/POST 201/);
    expect(resumed.stderr).toMatch(/DELETE 200/);
    // The publisher's first peer died with the primary: its DELETE (now, not at the end of its 30 s) cannot succeed.
    publishing.stop();
    const run = await publishing;
    expect(run.code).not.toBe(0);

    expectResumedCopy(join(backup, 'whip-kill.webm'), before);
    // The resumed relay asked once for a second copy (whip-relay-faults.test.ts makes one): no other server here, refused,
    // and not asked again (the end is not held up by a round of retries).
    const asks = cluster
      .hub!.output()
      .split('\n')
      .filter((l) => l.includes('"stream":"whip-kill"') && l.includes('WHIP replacement entry server'));
    expect(asks, asks.join('\n')).toHaveLength(1);
    expect(asks[0]).toMatch(/"refused":"no-ingest"/);
  }, 120_000);
});
