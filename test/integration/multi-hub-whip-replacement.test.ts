// Several hubs: a WHIP broadcast taken by a hub its entry servers are not registered with (they attach to it) whose
// backup dies gets its replacement from that hub (the relay asks on the attachment its offer came in on). Real
// redis-server, two hubs, three ingest servers registered with the first, the POST through the second.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor, type ApiState, type Proc } from '../helpers/cluster.js';
import { GI_PACKAGES, HAVE_GI, PYTHON, type Running, whipPublish } from '../helpers/gstreamer.js';
import { startHubServer, startRedisHub, stopAll, type HubProc } from '../helpers/redis-hubs.js';
import { startRedis, type RedisProcess } from '../helpers/redis-process.js';

if (!HAVE_GI) console.warn(`multi-hub WHIP replacement tests skipped: ${PYTHON} cannot import gi/GstWebRTC (install ${GI_PACKAGES})`);

const KEY = 'replace-stream-key';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!HAVE_GI)('WHIP backup replacement through another hub (2 hubs, real Redis)', () => {
  let redis: RedisProcess;
  const hubs: HubProc[] = [];
  const servers = new Map<string, Proc & { storage: string }>();
  const tmp = mkdtempSync(join(tmpdir(), 'baton-whip-replace-'));
  let publishing: Running | undefined;

  const startServer = async (id: string, lat: number, lon: number) => {
    const storage = join(tmp, id);
    mkdirSync(storage, { recursive: true });
    const args = ['--ingest', '--lat', String(lat), '--lon', String(lon), '--rtc-bind-address', '127.0.0.1'];
    servers.set(
      id,
      Object.assign(
        await startHubServer(
          hubs.map((h) => h.url),
          id,
          storage,
          args,
        ),
        { storage },
      ),
    );
  };

  beforeAll(async () => {
    redis = await startRedis();
    for (const id of ['wx-a', 'wx-b']) hubs.push(await startRedisHub(redis.url, id, ['--stream-keys', KEY]));
    // Paris is closest to par-1: the primary for `?location=Paris`.
    await startServer('par-1', 48.86, 2.35);
    await startServer('nyc-1', 40.71, -74.0);
    await startServer('lon-1', 51.51, -0.13);
  }, 120_000);

  afterAll(async () => {
    publishing?.kill();
    await stopAll([...servers.values(), ...hubs]);
    await redis?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const state = (h: HubProc) => fetch(`${h.url}/api/state`).then((r) => r.json() as Promise<ApiState>);
  /** Servers holding a live copy of `id` of more than `bytes`, as hub `h` sees them. */
  const liveHolders = async (h: HubProc, id: string, bytes: number) =>
    (await state(h)).servers
      .filter((s) => (s.live as { id: string; bytes: number }[]).some((l) => l.id === id && l.bytes > bytes))
      .map((s) => s.id);

  it('the hub that took the POST places the replacement: DELETE lists two servers, byte-identical', async () => {
    const [, hubB] = hubs;
    const id = 'whip-mh-lost-backup';
    // Every server attached to hub B (registered with A): its offer and the relay's requests go over that attachment.
    await waitFor('every server attached to hub B', async () => (await state(hubB!)).servers.length === 3, 30_000);
    publishing = whipPublish(`${hubB!.url}/whip/${id}?location=Paris`, KEY, 60);
    let backup = '';
    await waitFor(
      `the backup of ${id} storing`,
      async () => {
        backup = (await liveHolders(hubB!, id, 200_000)).find((s) => s !== 'par-1') ?? '';
        return backup !== '';
      },
      60_000,
    );
    const replacement = backup === 'nyc-1' ? 'lon-1' : 'nyc-1';
    servers.get(backup)!.child.kill('SIGKILL');
    await waitFor(
      `${replacement} holding a live copy of ${id}`,
      async () => (await liveHolders(hubB!, id, 200_000)).includes(replacement),
      40_000,
    );
    publishing.stop();
    const run = await publishing;
    expect(run.code, run.stderr).toBe(0);
    const ended = /DELETE 200 in \d+ ms: (\{.*\})/.exec(run.stderr);
    expect(ended, run.stderr).not.toBeNull();
    const body = JSON.parse(ended![1]!) as { sha256: string; stored: string[] };
    expect(body.stored.sort()).toEqual(['par-1', replacement].sort());
    for (const s of body.stored) expect(sha256(readFileSync(join(servers.get(s)!.storage, `${id}.webm`)))).toBe(body.sha256);
    expect(hubB!.output()).toMatch(new RegExp(`"replacement":"${replacement}".*WHIP replacement entry server`));
  }, 180_000);
});
