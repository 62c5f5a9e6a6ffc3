// A viewer failing over from one holder of a stored asset to another resumes only on the same copy (the meta's fingerprint).
import { describe, expect, it } from 'vitest';
import { encodeControl, encodeMedia } from '../../signaling/protocol/frames.js';
import { RETRY_PASSED_OVER_MS, Viewer, type ViewerSocket } from '../../client-sdk/viewer.js';
import { scriptedPeers } from '../helpers/scripted-peer.js';

const COPY_A = '1a2b-0123456789abcdef';
const COPY_B = '1a2b-fedcba9876543210';

/** A hub that answers every watch with a session on a new server, up to `servers` of them (then `no-capacity`); `asked` keeps each watch's exclude list. */
function scriptedHub(servers = Infinity, asked: string[][] = []): ViewerSocket {
  let n = 0;
  return {
    emit(event: string, req?: unknown, ack?: (r: unknown) => void) {
      if (event !== 'watch') return;
      asked.push([...((req as { exclude?: string[] }).exclude ?? [])]);
      if (n >= servers) return ack!({ ok: false, code: 'no-capacity', message: 'every server holding fo1 is excluded' });
      n++;
      ack!({ ok: true, sessionId: `session-${n}`, server: { id: `srv-${n}`, region: 'test' }, reason: 'storage', loadFactor: 0, epoch: 1 });
    },
    on: () => undefined,
    off: () => undefined,
  } as ViewerSocket;
}

const peers = scriptedPeers({ offer: true });
const meta = (fingerprint: string | undefined, offset: number) =>
  encodeControl({
    t: 'meta',
    assetId: 'fo1',
    mime: 'video/webm',
    bytes: 10_000,
    live: false,
    offset,
    ...(fingerprint ? { fingerprint } : {}),
  });

/**
 * 1,000 bytes from a server with copy A, then `first` ends it (a lost server, or its error frame); a failover, then a
 * server with `second`'s copy sends its meta and 1,000 bytes; when a third server is asked for, it has copy A.
 */
async function failoverTo(
  second: string | undefined,
  opts: { servers?: number; first?: 'close' | 'asset-changed' | 'asset-rewritten' } = {},
) {
  const asked: string[][] = [];
  const v = new Viewer({ socket: scriptedHub(opts.servers, asked), assetId: 'fo1', SimplePeer: peers.Peer as never });
  const data: number[] = [];
  const errors: string[] = [];
  v.addEventListener('data', (e) => data.push((e as CustomEvent).detail.offset));
  v.addEventListener('error', (e) => errors.push((e as CustomEvent).detail.code));
  v.start();
  await new Promise((r) => setTimeout(r, 0));
  const first = peers.made.at(-1)!;
  first.fire('connect');
  first.fire('data', meta(COPY_A, 0));
  first.fire('data', encodeMedia(0, new Uint8Array(1_000)));
  if (opts.first && opts.first !== 'close')
    first.fire('data', encodeControl({ t: 'error', code: opts.first, message: 'the stored file of fo1 changed on this server' }));
  else first.fire('close');
  await new Promise((r) => setTimeout(r, 0));
  const next = peers.made.at(-1)!;
  if (next === first) {
    v.close();
    return { data, errors, asked };
  }
  next.fire('connect');
  next.fire('data', meta(second, 1_000));
  next.fire('data', encodeMedia(1_000, new Uint8Array(1_000)));
  await new Promise((r) => setTimeout(r, 0));
  const third = peers.made.at(-1)!;
  if (third !== next) {
    third.fire('connect');
    third.fire('data', meta(COPY_A, 1_000));
    third.fire('data', encodeMedia(1_000, new Uint8Array(1_000)));
    await new Promise((r) => setTimeout(r, 0));
  }
  // A lost server is asked again once nothing else is left (RETRY_PASSED_OVER_MS later): its answer too.
  if (opts.servers !== undefined) await new Promise((r) => setTimeout(r, RETRY_PASSED_OVER_MS + 200));
  v.close();
  return { data, errors, asked };
}

describe('Viewer: resuming a stored asset on another holder', () => {
  it('the same copy: resumes at its byte', async () => {
    expect(await failoverTo(COPY_A)).toMatchObject({ data: [0, 1_000], errors: [] });
  });

  it('another copy: takes none of its bytes, and resumes on a third holder with the copy it started on', async () => {
    const r = await failoverTo(COPY_B);
    expect(r).toMatchObject({ data: [0, 1_000], errors: [] });
    expect(r.asked).toEqual([[], ['srv-1'], ['srv-1', 'srv-2']]);
  });

  it('another copy and no third holder: ends with asset-changed, and takes none of its bytes', async () => {
    const r = await failoverTo(COPY_B, { servers: 2 });
    expect(r).toMatchObject({ data: [0], errors: ['asset-changed'] });
  });

  it('a server that tells no fingerprint (an older one): resumes as before', async () => {
    expect(await failoverTo(undefined)).toMatchObject({ data: [0, 1_000], errors: [] });
  });
});

describe("Viewer: its server's file changed under the id (asset-changed)", () => {
  it('resumes on another holder of the same copy at the same byte, and never asks that server again', async () => {
    const r = await failoverTo(COPY_A, { first: 'asset-changed' });
    expect(r).toMatchObject({ data: [0, 1_000], errors: [] });
    expect(r.asked).toEqual([[], ['srv-1']]);
  });

  it("rewritten in place (asset-rewritten: bytes since may be the new file's): stops, asks no other server", async () => {
    expect(await failoverTo(COPY_A, { first: 'asset-rewritten' })).toEqual({ data: [0], errors: ['asset-rewritten'], asked: [[]] });
  });

  it('the other holder has another copy and there is no third: ends with asset-changed', async () => {
    expect(await failoverTo(COPY_B, { first: 'asset-changed', servers: 2 })).toMatchObject({ data: [0], errors: ['asset-changed'] });
  });
});

describe('Viewer: an end that says the file is shorter than what arrived', () => {
  async function endAt(bytes: number, live = false) {
    const v = new Viewer({ socket: scriptedHub(1), assetId: 'fo1', SimplePeer: peers.Peer as never });
    const ends: number[] = [];
    const errors: string[] = [];
    v.addEventListener('end', (e) => ends.push((e as CustomEvent).detail.bytes));
    v.addEventListener('error', (e) => errors.push((e as CustomEvent).detail.code));
    v.start();
    await new Promise((r) => setTimeout(r, 0));
    const p = peers.made.at(-1)!;
    p.fire('connect');
    p.fire(
      'data',
      live ? encodeControl({ t: 'meta', assetId: 'fo1', mime: 'video/webm', bytes: 2_000, live: true, offset: 0 }) : meta(COPY_A, 0),
    );
    p.fire('data', encodeMedia(0, new Uint8Array(2_000)));
    p.fire('data', encodeControl({ t: 'end', bytes }));
    await new Promise((r) => setTimeout(r, 0));
    v.close();
    return { ends, errors };
  }

  it('the whole file: ends', async () => {
    expect(await endAt(2_000)).toEqual({ ends: [2_000], errors: [] });
  });

  it('fewer bytes than arrived (the copy shrank under the id), no other holder: asset-changed, not a finished watch', async () => {
    expect(await endAt(1_500)).toEqual({ ends: [], errors: ['asset-changed'] });
  });

  it('a live stream that ends shorter (a dropped broadcast salvaged at its last whole Cluster): ends, as before', async () => {
    expect(await endAt(1_500, true)).toEqual({ ends: [1_500], errors: [] });
  });
});
