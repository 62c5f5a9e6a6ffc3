// A media server run with only its own key (`baton server-key`), through the real CLI: it registers and serves; the
// same key under another id is refused at connect and the server exits, the cluster unchanged.
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run, SECRET, waitFor, waitForOutput } from '../helpers/cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-server-keys-'));
const procs: ReturnType<typeof run>[] = [];
afterAll(() => {
  for (const p of procs) p.child.kill('SIGKILL');
});

async function output(args: string[]): Promise<{ code: number | null; out: string }> {
  const p = run(args);
  const [code] = (await once(p.child, 'exit')) as [number | null];
  return { code, out: p.output() };
}

describe('baton server --server-key-file', () => {
  it('registers with its own key; the key under another id is refused and the server exits 1', async () => {
    const made = await output(['server-key', '--id', 'fra-1', '--cluster-secret', SECRET]);
    expect(made.code).toBe(0);
    const key = made.out.trim();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    writeFileSync(join(dir, 'fra-1.key'), `${key}\n`);

    const hub = run(['hub', '--port', '0', '--cluster-secret', SECRET]);
    procs.push(hub);
    const [, url] = await waitForOutput(hub, /listening on (http:\/\/\S+)/);
    const server = (id: string) =>
      run([
        'server',
        '--hub',
        url!,
        '--server-key-file',
        join(dir, 'fra-1.key'),
        '--id',
        id,
        '--storage',
        mkdtempSync(join(dir, `${id}-`)),
        '--no-posters',
        '--no-renditions',
      ]);
    const fra = server('fra-1');
    procs.push(fra);
    await waitForOutput(fra, /registered with hub/, 60_000);

    const posing = server('iad-1');
    procs.push(posing);
    const [code] = (await once(posing.child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(posing.output()).toMatch(/unauthorized: bad cluster secret or server key for iad-1/);
    const state = async () => (await (await fetch(`${url}/api/state`)).json()) as { servers: { id: string }[] };
    await waitFor('fra-1 alone in the table', async () => (await state()).servers.map((s) => s.id).join() === 'fra-1');
  });

  it('takes the cluster secret or the key, not both, and says how to make a key', async () => {
    const both = await output(['server', '--cluster-secret', SECRET, '--server-key', 'k'.repeat(43), '--id', 'x', '--storage', dir]);
    expect(both.code).not.toBe(0);
    expect(both.out).toMatch(/give --cluster-secret or --server-key, not both/);
    const none = await output(['server', '--id', 'x', '--storage', dir]);
    expect(none.out).toMatch(/required option '--cluster-secret <s>' \(or '--server-key <k>'\) not specified/);
    const short = await output(['server', '--server-key', 'short', '--id', 'x', '--storage', dir]);
    expect(short.out).toMatch(/--server-key must be at least 16 bytes.*baton server-key --id ID/);
  });
});
