// The WHIP relay's hub link: the first `publish` is the offer's assignment, a later one (a replacement) asks the hub.
import { describe, expect, it } from 'vitest';
import { RelaySocket } from '../../node-app/whip/relay-socket.js';
import type { Ack, PublishReply } from '../../signaling/protocol/index.js';

const assignment = { streamId: 'show', streamSecret: 's', primary: {}, backup: {}, ipUnknown: true, epoch: 1 } as unknown as PublishReply;
const ask = (relay: RelaySocket, exclude?: string[]) =>
  new Promise<Ack<PublishReply>>((resolve) =>
    relay.emit('publish', { streamKey: 'whip', location: 'whip', ...(exclude ? { exclude } : {}) }, resolve),
  );

describe('RelaySocket', () => {
  it('answers the first publish with the assignment and asks the hub (whip-replace) for each replacement', async () => {
    const sent: [string, unknown][] = [];
    const relay = new RelaySocket('res-1', assignment, (event, msg, ack) => {
      sent.push([event, msg]);
      ack?.({ ok: false, code: 'no-ingest', message: 'no other server' });
    });
    expect(await ask(relay)).toEqual({ ok: true, ...assignment });
    expect(sent).toEqual([]);
    expect(await ask(relay, ['nyc-1'])).toEqual({ ok: false, code: 'no-ingest', message: 'no other server' });
    expect(await ask(relay)).toMatchObject({ ok: false });
    expect(sent).toEqual([
      ['whip-replace', { resourceId: 'res-1', exclude: ['nyc-1'] }],
      ['whip-replace', { resourceId: 'res-1', exclude: [] }],
    ]);
  });

  it('asks nothing for a relay that cannot fill a new server (a resumed broadcast): refused with the reason', async () => {
    const sent: string[] = [];
    const relay = new RelaySocket('res-1', assignment, (event) => sent.push(event), 'a resumed WHIP broadcast gets none');
    await ask(relay);
    expect(await ask(relay, ['nyc-1'])).toEqual({ ok: false, code: 'no-ingest', message: 'a resumed WHIP broadcast gets none' });
    expect(sent).toEqual([]);
  });
});
