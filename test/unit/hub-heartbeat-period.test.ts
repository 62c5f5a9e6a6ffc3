// A server says its heartbeat period when it registers; a hub that expects heartbeats more often refuses it once, naming
// both periods and the flag (a 5 s server on a 1 s hub was removed for missed heartbeats every 5 s and re-registered
// for ever). A server that does not say (an older one) registers as before.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { HubCore } from '../../signaling/core/hub-core.js';
import { NODE_CLOCK, type HubLink, type ServerPeer } from '../../signaling/core/link.js';
import { serverDescriptorSchema } from '../../signaling/protocol/messages.js';
import type { ServerDescriptor } from '../../signaling/protocol/types.js';
import { bareDescriptor } from '../helpers/descriptor.js';

const log = pino({ level: 'silent' });
const link: HubLink = { publishDeltas: () => {}, publishDecision: () => {}, toClient: () => {} };
const peer = (): ServerPeer => ({ connected: true, send: () => {}, disconnect: () => {}, ask: () => Promise.reject(new Error('no')) });
function hub(heartbeatMs: number): HubCore {
  return new HubCore({
    link,
    clock: NODE_CLOCK,
    log,
    heartbeatMs,
    rotationMs: 0,
    directorTimeoutMs: 20,
    publish: { streamKeys: [], streamKeySecret: undefined, resolveLocation: () => null, ipPlace: () => null },
  });
}

describe('heartbeat period at registration', () => {
  it('a server beating less often than the hub expects is refused, the message naming both periods and the flag', () => {
    const core = hub(1_000);
    const r = core.register(peer(), bareDescriptor('slow', { heartbeatMs: 5_000 }), log);
    expect(r).toMatchObject({ ok: false, code: 'bad-request' });
    const { message } = r as { message: string };
    expect(message).toMatch(/5000 ms/);
    expect(message).toMatch(/1000 ms/);
    expect(message).toMatch(/--heartbeat-ms/);
    expect(core.snapshot().servers).toHaveLength(0);
  });

  it('a server beating as often or more often registers; the period is not put in the table', () => {
    const core = hub(1_000);
    expect(core.register(peer(), bareDescriptor('same', { heartbeatMs: 1_000 }), log)).toMatchObject({ ok: true });
    expect(core.register(peer(), bareDescriptor('fast', { heartbeatMs: 250 }), log)).toMatchObject({ ok: true });
    expect(core.snapshot().servers.map((s) => 'heartbeatMs' in s)).toEqual([false, false]);
  });

  it('a server that does not say its period (an older one) registers as before', () => {
    expect(hub(1_000).register(peer(), bareDescriptor('old'), log)).toMatchObject({ ok: true });
  });

  it('the period is bounded in the schema, and optional', () => {
    const ok = (more: Partial<ServerDescriptor>) => serverDescriptorSchema.safeParse(bareDescriptor('x', more)).success;
    expect(ok({})).toBe(true);
    expect(ok({ heartbeatMs: 1_000 })).toBe(true);
    for (const bad of [0, 49, 60_001, 1.5, 3e9]) expect(ok({ heartbeatMs: bad }), String(bad)).toBe(false);
  });
});
