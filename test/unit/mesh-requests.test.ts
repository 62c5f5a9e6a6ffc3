// A request to a server on another hub (MeshRequests): the other hub's error code comes back with its message, so the
// asking hub tells a server that went away (`peer-closed`) from one that was late or refused.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../common/coded-error.js';
import type { Envelope } from '../../signaling/redis/mesh-envelope.js';
import { MeshRequests } from '../../signaling/redis/mesh-requests.js';

function requests() {
  const posted: { hub: string; e: Envelope }[] = [];
  const r = new MeshRequests(8, (hub, e) => posted.push({ hub, e }), pino({ level: 'silent' }));
  const ask = () =>
    r.request(
      Promise.resolve('hub-b'),
      (id) => ({ k: 'ask', from: 'hub-a', id, server: 's1', event: 'whip-end', msg: {}, timeoutMs: 60_000 }),
      60_000,
      'late',
      () => Promise.reject(new Error('no way round')),
    );
  const idOf = async (n: number) => {
    await expect.poll(() => posted.length).toBeGreaterThan(n);
    return (posted[n]!.e as { id: number }).id;
  };
  return { r, ask, idOf };
}

describe('MeshRequests', () => {
  it("rejects with the other hub's code when it sent one, and with a plain error when it did not", async () => {
    const { r, ask, idOf } = requests();
    const gone = ask();
    r.settle({ k: 'reply', id: await idOf(0), ok: false, error: 'the connection closed', code: 'peer-closed' });
    const err = await gone.catch((e: unknown) => e);
    expect(codeOf(err)).toBe('peer-closed');
    expect((err as Error).message).toBe('the connection closed');

    const refused = ask();
    r.settle({ k: 'reply', id: await idOf(1), ok: false, error: 'no' });
    const plain = await refused.catch((e: unknown) => e);
    expect(codeOf(plain)).toBe('internal');
    expect((plain as Error).message).toBe('no');

    const answered = ask();
    r.settle({ k: 'reply', id: await idOf(2), ok: true, value: { ok: true, bytes: 3 } });
    await expect(answered).resolves.toEqual({ ok: true, bytes: 3 });
    expect(r.size).toBe(0);
  });
});
