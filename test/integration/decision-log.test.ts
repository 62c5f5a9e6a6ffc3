// /api/decisions keeps a bounded log per kind: a fast director rotation fills its
// own log to the bound and never pushes viewer selections out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { Cluster, waitFor } from '../helpers/cluster.js';
import { DECISIONS_PER_KIND } from '../../signaling/decision-log.js';

interface Decision {
  kind: 'watch' | 'publish' | 'director';
  assetId?: string;
}

describe('/api/decisions', () => {
  const cluster = new Cluster({
    heartbeatMs: 1000,
    rotationMs: 200,
    servers: [
      { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: ['demo-testsrc'] },
      { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, assets: ['demo-testsrc'] },
    ],
  });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  const decisions = async () => ((await (await fetch(`${cluster.hubUrl}/api/decisions`)).json()) as { decisions: Decision[] }).decisions;

  it('many director rotations do not evict viewer selections; each kind stays within its bound', async () => {
    const client = io(`${cluster.hubUrl}/client`, { transports: ['websocket'], reconnection: false });
    try {
      for (let i = 0; i < 3; i++) {
        const r = (await client.timeout(5_000).emitWithAck('watch', { assetId: 'demo-testsrc' })) as {
          ok: boolean;
          sessionId: string;
          message?: string;
        };
        expect(r).toMatchObject({ ok: true });
        client.emit('leave', { sessionId: r.sessionId });
      }
    } finally {
      client.close();
    }
    const { director } = await cluster.state();
    const epoch0 = (director as { epoch: number }).epoch;
    // Enough rotations after the watches to have overflowed one shared log of the same size.
    await waitFor(
      'more director changes than the bound',
      async () => (((await cluster.state()).director as { epoch: number } | null)?.epoch ?? -1) >= epoch0 + DECISIONS_PER_KIND + 10,
      60_000,
      100,
    );
    const all = await decisions();
    expect(all.filter((d) => d.kind === 'watch')).toHaveLength(3);
    expect(all.filter((d) => d.kind === 'director')).toHaveLength(DECISIONS_PER_KIND);
  });
});
