// An offer the WebRTC stack refuses (no ICE credentials, a malformed fingerprint) is the client's fault: WHEP and WHIP
// answer 400 with the reason at the first server, never 503 after trying a second one. Real hub and servers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, ROOT, THREE_SERVERS } from '../helpers/cluster.js';

const fixture = (name: string) => readFileSync(join(ROOT, `test/fixtures/${name}`), 'utf8');
/** Passes the hub's own summary of the offer; libdatachannel refuses it. */
const badFingerprint = (sdp: string) => sdp.replace(/a=fingerprint:sha-256 \S+/g, 'a=fingerprint:sha-256 AA:BB');
const noIceCredentials = (sdp: string) =>
  sdp
    .split(/\r?\n/)
    .filter((l) => !l.startsWith('a=ice-ufrag:') && !l.startsWith('a=ice-pwd:'))
    .join('\r\n');

describe('offers the WebRTC stack refuses', () => {
  const cluster = new Cluster({ servers: THREE_SERVERS.slice(0, 2) });
  beforeAll(() => cluster.start(), 120_000);
  afterAll(() => cluster.stop());

  const post = (path: string, sdp: string, token?: string) =>
    fetch(`${cluster.hubUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: sdp,
    });

  it('WHEP: 400 naming what was wrong, from the first server', async () => {
    for (const [sdp, why] of [
      [badFingerprint(fixture('whep-offer.sdp')), /bad SDP offer: .*fingerprint/],
      [noIceCredentials(fixture('whep-offer.sdp')), /bad SDP offer: .*ICE/i],
    ] as const) {
      const res = await post('/whep/demo-testsrc', sdp);
      const body = await res.text();
      expect(res.status, body).toBe(400);
      expect(body).toMatch(why);
    }
  });

  it('WHIP: 400, and the stream id stays free', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await post('/whip/bad-offer?location=Paris', badFingerprint(fixture('whip-offer.sdp')), 'test-key');
      const body = await res.text();
      expect(res.status, body).toBe(400);
      expect(body).toMatch(/bad SDP offer: .*fingerprint/);
    }
  });
});
