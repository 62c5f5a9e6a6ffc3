// Generated hostile input (fast-check, fixed seeds): socket.io events for the hub's /client and
// /server namespaces, raw socket.io packets, and data-channel frames for a media server.
import fc from 'fast-check';
import { bareDescriptor } from '../../helpers/descriptor.js';

/** One socket.io event (with an ack or not), or a raw packet written under socket.io. */
export type HubInput = { kind: 'event'; event: string; args: unknown[]; ack: boolean } | { kind: 'raw'; packet: string };

/** socket.io-client refuses to emit these. */
const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);
/** Above the hub's 256 KiB message limit. */
export const OVERSIZED_CHARS = 300 * 1024;
const CONTROL_TYPES = ['play', 'pause', 'resume', 'stop', 'stats'];

/** Ids that try to leave a storage root, or are merely not ids. */
export const HOSTILE_IDS = [
  '../demo-smpte',
  '../../etc/passwd',
  '..%2fdemo-smpte',
  '%2e%2e%2fdemo-smpte',
  '%2e%2e/%2e%2e/etc/passwd',
  '/etc/passwd',
  '..\\demo-smpte',
  'C:\\Windows\\win.ini',
  'demo-smpte\0',
  'demo-smpte\0.txt',
  '.',
  '..',
  '',
  'demo smpte',
  'x'.repeat(10 * 1024),
];

const hostileId = fc.oneof(fc.constantFrom(...HOSTILE_IDS), fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }));
const junk = fc.anything({
  maxDepth: 3,
  maxKeys: 6,
  withTypedArray: true,
  withSparseArray: true,
  withNullPrototype: true,
  withBoxedValues: true,
  withDate: true,
});
const eventName = (known: string[]) =>
  fc
    .oneof(
      { weight: 6, arbitrary: fc.constantFrom(...known) },
      { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '__proto__',
          'constructor',
          'hasOwnProperty',
          'toString',
          'select',
          'session-open',
          'deltas',
          'error',
          'message',
        ),
      },
    )
    .filter((e) => !RESERVED.has(e));

function deep(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** Values that are never a valid message: wrong types, wrong keys, hostile strings, huge or deep. */
const clientPayload = fc.oneof(
  { weight: 6, arbitrary: junk },
  {
    weight: 4,
    arbitrary: fc.record(
      { assetId: hostileId, offset: fc.oneof(fc.integer(), fc.double(), fc.string()), exclude: junk },
      { requiredKeys: ['assetId'] },
    ),
  },
  // A random stream key is never one the hub accepts, so nothing can start publishing.
  {
    weight: 2,
    arbitrary: fc.record(
      { streamKey: fc.string({ maxLength: 20 }).map((k) => `fuzz-${k}`), location: junk, streamId: hostileId },
      { requiredKeys: [] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ sessionId: fc.oneof(fc.string(), fc.constant('AAAAAAAAAAAA')), data: junk }, { requiredKeys: [] }) },
  { weight: 2, arbitrary: fc.record({ q: fc.oneof(fc.string({ maxLength: 200 }), junk), limit: junk }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.constantFrom(deep(1_000), 'x'.repeat(OVERSIZED_CHARS), { assetId: 'y'.repeat(OVERSIZED_CHARS) }) },
);

/** A server descriptor with exactly one thing wrong, so it can never register. */
const brokenDescriptor = fc
  .tuple(
    fc.constantFrom(
      ['id', '../x'],
      ['region', 42],
      ['region', ''],
      ['lat', 91],
      ['lon', 'east'],
      ['roles', []],
      ['roles', ['root']],
      ['maxSessions', 0],
      ['maxSessions', 1.5],
      ['uplinkMbps', -1],
      ['load', { sessions: -1, egressMbps: 0, cpu: 0 }],
      ['cache', ['../etc']],
      ['storage', [{ id: '../x', bytes: 1, mime: 'video/webm' }]],
      ['live', 'yes'],
      ['httpUrl', 'not a url'],
      ['admin', true],
      ['lastEpoch', -3],
    ) as fc.Arbitrary<[string, unknown]>,
    fc.boolean(),
  )
  .map(([[key, value], drop]) => {
    const d: Record<string, unknown> = { ...bareDescriptor('fuzz', { region: 'x' }) };
    if (drop && key in d) delete d[key];
    else d[key] = value;
    return d;
  });

/** Own deltas with a wrong field each (a valid one would change the table). */
const brokenReport = fc.oneof(
  fc.constant([]),
  fc.constantFrom(
    [{ type: 'cache-add', assets: ['../x'] }],
    [{ type: 'cache-add', assets: [] }],
    [{ type: 'storage-add', assets: [{ id: 'ok', bytes: -1, mime: 'video/webm' }] }],
    [{ type: 'load', load: { sessions: 'many', egressMbps: 0, cpu: 0 } }],
    [{ type: 'live', stream: { id: 'x', bytes: 0, live: 'maybe', mime: 'video/webm', startedAtMs: 0 } }],
    [{ type: 'server-left', id: 'fra-1' }],
    [{ type: 'director', director: { id: 'rogue', epoch: 999 } }],
    [{ type: 'cache-remove', assets: ['demo-smpte'], id: 'fra-1' }],
  ),
  fc.array(junk, { minLength: 1, maxLength: 3 }),
);

const serverPayload = fc.oneof(
  { weight: 4, arbitrary: junk },
  { weight: 3, arbitrary: brokenDescriptor },
  { weight: 3, arbitrary: brokenReport },
  { weight: 1, arbitrary: fc.record({ load: junk }) },
  { weight: 1, arbitrary: fc.record({ sessionId: fc.string(), data: junk, reason: junk }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.constantFrom(deep(1_000), 'x'.repeat(OVERSIZED_CHARS)) },
);

const rawPacket = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc
    .tuple(
      fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '9', ''),
      fc.constantFrom('', '/client,', '/server,', '/dashboard,', '/nope,', '/client'),
      fc.option(fc.nat({ max: 1e9 }), { nil: undefined }),
      fc.oneof(fc.json({ maxDepth: 3 }), fc.string({ maxLength: 100 })),
    )
    .map(([type, ns, id, data]) => `${type}${ns}${id ?? ''}${data}`),
);

function events(known: string[], payload: fc.Arbitrary<unknown>): fc.Arbitrary<HubInput> {
  return fc
    .record({ event: eventName(known), args: fc.array(payload, { maxLength: 3 }), ack: fc.boolean() })
    .map((e) => ({ kind: 'event' as const, ...e }));
}

/** `n` inputs for the /client namespace, about one in six a raw packet. */
export function clientCorpus(n: number, seed: number): HubInput[] {
  const arb = fc.oneof(
    { weight: 5, arbitrary: events(['watch', 'publish', 'places', 'catalog', 'signal', 'leave'], clientPayload) },
    { weight: 1, arbitrary: rawPacket.map((packet) => ({ kind: 'raw' as const, packet })) },
  );
  return fc.sample(arb, { numRuns: n, seed });
}

/** `n` events for the /server namespace. */
export function serverCorpus(n: number, seed: number): HubInput[] {
  return fc.sample(events(['register', 'attach', 'heartbeat', 'report', 'resync', 'signal', 'session-close'], serverPayload), {
    numRuns: n,
    seed,
  });
}

/** `n` data-channel frames a server must refuse: text that is not a control message, or any binary. */
export function badFrames(n: number, seed: number): (string | Uint8Array)[] {
  const notControl = fc.oneof(
    fc.string({ maxLength: 300 }).filter((s) => !s.trimStart().startsWith('{')),
    fc.json({ maxDepth: 2 }).filter((s) => !s.trimStart().startsWith('{')),
    fc
      .record({ t: fc.string({ maxLength: 10 }).filter((t) => !CONTROL_TYPES.includes(t)), offset: fc.nat() })
      .map((o) => JSON.stringify(o)),
    fc.record({ t: fc.constantFrom(...CONTROL_TYPES), extra: fc.anything({ maxDepth: 1 }) }).map((o) => JSON.stringify(o)),
    fc
      .record({
        t: fc.constant('play'),
        offset: fc.oneof(fc.double({ min: -1e6, max: -0.5 }), fc.string(), fc.constant(2 ** 60), fc.constant(1.5)),
      })
      .map((o) => JSON.stringify(o)),
    fc.constantFrom(`{"t":"play","offset":0,"pad":"${'p'.repeat(5_000)}"}`, '{'.repeat(3_000)),
  );
  const binary = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 2_000 }), fc.constant(new Uint8Array(100 * 1024).fill(7)));
  return fc.sample(fc.oneof({ weight: 4, arbitrary: notControl }, { weight: 1, arbitrary: binary }), { numRuns: n, seed });
}
