// A media server with thousands of stored files: its registration and a rescan that finds thousands at once both reach
// the hub (in pieces under the hub's 256 KiB message limit), and the server is never disconnected. Real hub and server.
import { linkSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, MEDIA_DIR, waitFor } from '../helpers/cluster.js';

/** Files stored before the server starts, and dropped in at once while it runs: each listing ≈ 400 KB of JSON. */
const AT_START = 2_500;
const DROPPED = 2_500;

const dir = mkdtempSync(join(tmpdir(), 'baton-storage-many-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a server with thousands of stored files', () => {
  const cluster = new Cluster({ servers: [] });
  const storage = join(dir, 'storage');
  beforeAll(async () => {
    await cluster.start();
    mkdirSync(storage);
    // Hard links of one demo clip: thousands of real WebM files for the price of one.
    const source = join(MEDIA_DIR, 'demo-testsrc.webm');
    for (let i = 0; i < AT_START; i++) linkSync(source, join(storage, `clip-${i}.webm`));
  }, 120_000);
  afterAll(() => cluster.stop());

  async function total(): Promise<number> {
    return ((await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as { total: number }).total;
  }

  it('registers with all of them, and takes thousands more found by one rescan, without a disconnect', async () => {
    const spec = { id: 'lib-1', region: 'eu-central', lat: 50.11, lon: 8.68, storageDir: storage, assets: [], extraArgs: ['--no-posters'] };
    const server = await cluster.startServer(spec, { waitRegistered: false });
    // The old code sent the whole listing in the registration: the hub closed the connection at once, again and again.
    await waitFor(`${AT_START} assets in the catalog`, async () => (await total()) === AT_START, 90_000);

    // Dropped in within one rescan (renames from a directory on the same file system).
    const staging = join(dir, 'staging');
    mkdirSync(staging);
    const source = join(MEDIA_DIR, 'demo-testsrc.webm');
    for (let i = 0; i < DROPPED; i++) linkSync(source, join(staging, `more-${i}.webm`));
    for (const f of readdirSync(staging)) renameSync(join(staging, f), join(storage, f));
    await waitFor(`${AT_START + DROPPED} assets in the catalog`, async () => (await total()) === AT_START + DROPPED, 90_000);

    expect(server.output()).not.toMatch(/disconnected from hub/);
    expect((await cluster.state()).servers.map((s) => [s.id, s.storageCount])).toEqual([['lib-1', AT_START + DROPPED]]);
  }, 240_000);
});
