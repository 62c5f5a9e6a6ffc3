// The first peer's ICE servers, read by hand from /api/config: what the config schema accepts, and nothing else.
import { describe, expect, it } from 'vitest';
import { clientConfigSchema } from '../../client-sdk/hub-replies.js';
import { readIceServers } from '../../web-client/components/ice-servers.js';

const turn = { urls: 'turn:turn.example.org:3478', username: 'u', credential: 'p' };
const CONFIGS: unknown[] = [
  { iceServers: [{ urls: 'stun:stun.example.org' }] },
  { iceServers: [turn, { urls: ['stun:a.example.org', 'stun:b.example.org'] }] },
  { iceServers: [] },
  {},
  null,
  'iceServers',
  { iceServers: 'stun:stun.example.org' },
  { iceServers: [{ url: 'stun:old-spelling.example.org' }] },
  { iceServers: [{ urls: 42 }] },
  { iceServers: [{ urls: ['stun:a', 7] }] },
  { iceServers: [{ urls: 'stun:a', username: 5 }] },
  { iceServers: [{ urls: 'stun:a', credential: { secret: true } }] },
  { iceServers: [{ urls: `stun:${'a'.repeat(300)}` }] },
  { iceServers: [{ urls: Array.from({ length: 11 }, (_, i) => `stun:h${i}`) }] },
  { iceServers: Array.from({ length: 11 }, (_, i) => ({ urls: `stun:h${i}` })) },
  { iceServers: [{ urls: 'stun:a', username: 'x'.repeat(201) }] },
  { iceServers: [null] },
  { iceServers: [['stun:a']] },
];

describe('readIceServers', () => {
  it('reads the ICE servers of every config the schema reads them from, and none from any other', () => {
    for (const config of CONFIGS) {
      const p = clientConfigSchema.safeParse(config);
      expect(readIceServers(config), JSON.stringify(config)?.slice(0, 80)).toEqual(p.success ? (p.data.iceServers ?? []) : []);
    }
  });

  it('keeps only urls, username and credential', () => {
    expect(readIceServers({ iceServers: [{ ...turn, credentialType: 'oauth', extra: 'x' }] })).toEqual([turn]);
  });
});
