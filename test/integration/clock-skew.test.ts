// A media server on a host whose clock is off (a VM without NTP): the hub refuses its cluster token, and both the
// hub's log and the server's last line say it is the clock, by how much, and what to run — before, "cluster token
// expired" alone, which reads as a wrong secret. A server whose clock is a few seconds off registers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, run, SECRET, waitForOutput, type Proc } from '../helpers/cluster.js';
import { stopAll } from '../helpers/redis-hubs.js';

const SKEW = join(ROOT, 'test/helpers/clock-skew.cjs');

describe('a media server whose clock differs from the hub’s (real hub and servers)', () => {
  let hub: Proc;
  let hubUrl: string;
  const procs: Proc[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'baton-clock-skew-'));

  beforeAll(async () => {
    hub = run(['hub', '--port', '0', '--cluster-secret', SECRET]);
    procs.push(hub);
    hubUrl = (await waitForOutput(hub, /listening on (http:\/\/[^\s]+)/, 60_000))[1]!;
  }, 90_000);

  afterAll(async () => {
    await stopAll(procs);
    rmSync(tmp, { recursive: true, force: true });
  });

  const server = (id: string, skewMs: number) => {
    const p = run(['server', '--no-renditions', '--hub', hubUrl, '--cluster-secret', SECRET, '--id', id, '--storage', join(tmp, id)], {
      BATON_NODE_ARGS: `-r ${SKEW}`,
      BATON_TEST_CLOCK_SKEW_MS: String(skewMs),
    });
    procs.push(p);
    return p;
  };

  it.each([
    [
      'behind',
      -90_000,
      /cluster token expired \(minted 90 s before this hub's now: the media server's clock is about 90 s behind the hub's/,
    ],
    [
      'ahead',
      10 * 60_000,
      /cluster token expiry too far in the future \(minted 600 s after this hub's now: the media server's clock is about 600 s ahead of the hub's/,
    ],
  ])(
    'a clock %s by minutes: refused, and the server exits saying the clock is off and to sync it',
    async (side, skewMs, said) => {
      const p = server(`skew-${side}`, skewMs);
      expect(await p.exited).toBe(1);
      expect(p.output()).toMatch(said);
      expect(p.output()).toContain('keep both in sync with NTP');
      expect(hub.output()).toMatch(said);
    },
    60_000,
  );

  it('a clock 5 s behind registers', async () => {
    await waitForOutput(server('skew-small', -5_000), /registered with hub/, 60_000);
  }, 60_000);
});
