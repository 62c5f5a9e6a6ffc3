// A Viewer whose server closed its session as idle (`idle`): paused or at the end it holds no session and asks no
// other server, then asks for a new one from where it is at a resume or a seek; one still waiting for bytes resumes at once.
import { describe, expect, it } from 'vitest';
import { encodeControl, encodeMedia } from '../../signaling/protocol/frames.js';
import { RETRY_PASSED_OVER_MS, Viewer, type ViewerSocket } from '../../client-sdk/viewer.js';
import { scriptedPeers } from '../helpers/scripted-peer.js';

/**
 * A hub that answers every watch with a session on a new server, but `no-capacity` to the watches numbered in `full`;
 * `watches` keeps each request, `left` each leave.
 */
function scriptedHub(full: number[] = []) {
  const watches: { offset?: number; exclude?: string[] }[] = [];
  const left: string[] = [];
  let n = 0;
  const socket = {
    emit(event: string, req?: unknown, ack?: (r: unknown) => void) {
      if (event === 'leave') left.push((req as { sessionId: string }).sessionId);
      if (event !== 'watch') return;
      watches.push(req as { offset?: number });
      if (full.includes(watches.length)) return ack!({ ok: false, code: 'no-capacity', message: 'every server is full' });
      n++;
      ack!({ ok: true, sessionId: `session-${n}`, server: { id: `srv-${n}`, region: 'test' }, reason: 'storage', loadFactor: 0, epoch: 1 });
    },
    on: () => undefined,
    off: () => undefined,
  } as ViewerSocket;
  return { socket, watches, left };
}

const peers = scriptedPeers({ offer: true });
const tick = () => new Promise((r) => setTimeout(r, 0));
const idle = encodeControl({ t: 'error', code: 'idle', message: 'the session was idle' });

/** A Viewer that got its meta and 1,000 of 10,000 bytes from its first server. */
async function playing(full: number[] = []) {
  const hub = scriptedHub(full);
  const v = new Viewer({ socket: hub.socket, assetId: 'a1', SimplePeer: peers.Peer as never });
  const warnings: string[] = [];
  const errors: string[] = [];
  v.addEventListener('warning', (e) => warnings.push(e.detail.code));
  v.addEventListener('error', (e) => errors.push(e.detail.code));
  v.start();
  await tick();
  const first = peers.made.at(-1)!;
  first.fire('connect');
  first.fire('data', encodeControl({ t: 'meta', assetId: 'a1', mime: 'video/webm', bytes: 10_000, live: false, offset: 0 }));
  first.fire('data', encodeMedia(0, new Uint8Array(1_000)));
  return { v, hub, first, warnings, errors };
}

describe('Viewer: a session its server closed as idle', () => {
  it('paused: leaves it, asks no other server; a resume asks for a new session from the next byte', async () => {
    const { v, hub, first, warnings, errors } = await playing();
    v.pause();
    first.fire('data', idle);
    first.fire('close');
    await tick();
    expect(v.session).toBeNull();
    expect(hub.watches).toHaveLength(1);
    expect(hub.left).toEqual(['session-1']);
    expect(warnings).toEqual(['idle']);
    v.resume();
    await tick();
    expect(hub.watches.map((w) => [w.offset, w.exclude])).toEqual([
      [0, undefined],
      [1_000, undefined],
    ]);
    expect(v.session?.server.id).toBe('srv-2');
    expect(errors).toEqual([]);
    v.close();
  });

  it('paused: a resume that finds every server full asks again after a pause, and plays on', async () => {
    const { v, hub, first, warnings, errors } = await playing([2]);
    v.pause();
    first.fire('data', idle);
    await tick();
    v.resume();
    await tick();
    expect(hub.watches).toHaveLength(2);
    expect(v.session).toBeNull();
    await new Promise((r) => setTimeout(r, RETRY_PASSED_OVER_MS + 200));
    expect(hub.watches.map((w) => w.offset)).toEqual([0, 1_000, 1_000]);
    expect(v.session?.server.id).toBe('srv-2');
    expect(warnings).toEqual(['idle', 'no-capacity']);
    expect(errors).toEqual([]);
    v.close();
  });

  it('at the end: a resume asks nothing; a seek by time asks for a new session', async () => {
    const { v, hub, first, errors } = await playing();
    first.fire('data', encodeMedia(1_000, new Uint8Array(9_000)));
    first.fire('data', encodeControl({ t: 'end', bytes: 10_000 }));
    first.fire('data', idle);
    await tick();
    expect(v.session).toBeNull();
    v.resume();
    await tick();
    expect(hub.watches).toHaveLength(1);
    v.seekTime(0);
    await tick();
    expect(hub.watches).toHaveLength(2);
    expect(errors).toEqual([]);
    v.close();
  });

  it('still wanting bytes (not paused, not at the end): resumes at once elsewhere, as after a lost server', async () => {
    const { v, hub, first } = await playing();
    first.fire('data', idle);
    await tick();
    expect(hub.watches.map((w) => [w.offset, w.exclude])).toEqual([
      [0, undefined],
      [1_000, ['srv-1']],
    ]);
    v.close();
  });
});
