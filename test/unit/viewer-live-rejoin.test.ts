// A live late joiner whose server dies before it has the whole init segment joins the next server afresh, never at the broadcast's start.
import { describe, expect, it } from 'vitest';
import { encodeControl, encodeMedia } from '../../signaling/protocol/frames.js';
import type { WatchRequest } from '../../signaling/protocol/messages.js';
import { Viewer, type ViewerSocket } from '../../client-sdk/viewer.js';
import { scriptedPeers } from '../helpers/scripted-peer.js';

/** A hub that answers every watch with a session on a new server, and remembers the requests. */
function scriptedHub() {
  const requests: WatchRequest[] = [];
  const socket: ViewerSocket = {
    emit(event: string, req?: any, ack?: (r: unknown) => void) {
      if (event !== 'watch') return;
      requests.push(req);
      const n = requests.length;
      ack!({ ok: true, sessionId: `session-${n}`, server: { id: `srv-${n}`, region: 'test' }, reason: 'live', loadFactor: 0, epoch: 1 });
    },
    on: () => undefined,
    off: () => undefined,
  } as ViewerSocket;
  return { socket, requests };
}

const peers = scriptedPeers({ offer: true });

/** A viewer that joins late (file byte 50,000, a 200-byte init segment), gets `received` bytes, then loses its server: the watch offsets asked. */
async function failAfter(received: number): Promise<number[]> {
  const hub = scriptedHub();
  const v = new Viewer({ socket: hub.socket, assetId: 'live-x', SimplePeer: peers.Peer as never });
  v.start();
  await new Promise((r) => setTimeout(r, 0));
  const first = peers.made.at(-1)!;
  first.fire('connect');
  first.fire(
    'data',
    encodeControl({
      t: 'meta',
      assetId: 'live-x',
      mime: 'video/webm',
      bytes: 5_200,
      live: true,
      offset: 0,
      joinedAt: 50_000,
      skipBytes: 49_800,
    }),
  );
  first.fire('data', encodeMedia(0, new Uint8Array(received)));
  first.fire('close');
  await new Promise((r) => setTimeout(r, 0));
  v.close();
  return hub.requests.map((r) => r.offset ?? 0);
}

describe('Viewer: a live late joiner failing over', () => {
  it('still inside the init segment: asks the next server from offset 0, not from its byte count', async () => {
    expect(await failAfter(120)).toEqual([0, 0]);
  });

  it('past its seam: asks for the file offset of its next byte', async () => {
    expect(await failAfter(300)).toEqual([0, 300 + 49_800]);
  });
});
