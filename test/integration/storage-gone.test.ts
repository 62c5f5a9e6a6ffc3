// A stored file that leaves its media server while a viewer plays it (the file deleted, the whole storage directory
// removed): the viewer resumes on another holder of the same file at the same byte, as when a server dies. Before, the
// session ended with `asset-changed` and `baton watch` stopped with nothing written, though the other copy was the same.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATON, Cluster, MEDIA_DIR, ROOT, waitFor } from '../helpers/cluster.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'baton-storage-gone-'));
const SOURCE = join(MEDIA_DIR, 'demo-mandelbrot.webm');
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** `baton watch --json` (paced): its exit code and output, never rejecting. */
function batonWatch(hubUrl: string, id: string, out: string): Promise<{ code: number; stdout: string }> {
  return exec(process.execPath, [BATON, 'watch', '--hub', hubUrl, '--asset', id, '--out', out, '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
  }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );
}

describe('a stored file that leaves the server a viewer plays it from', () => {
  const cluster = new Cluster({
    servers: [
      { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: [] },
      { id: 'ams-1', region: 'eu-west', lat: 52.37, lon: 4.9, assets: [] },
    ],
  });
  beforeAll(async () => {
    await cluster.start();
    for (const id of ['fra-1', 'ams-1'])
      for (const a of ['gone1', 'gone2']) copyFileSync(SOURCE, join(cluster.servers.get(id)!.storage, `${a}.webm`));
    await waitFor('gone1 and gone2 on both servers', async () => {
      const { assets } = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as { assets: { id: string; holders: string[] }[] };
      return assets.filter((a) => a.holders.length === 2).length === 2;
    });
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Watches `id`, runs `remove(server)` on the server it plays from 2 s in, and checks the watch ends whole, elsewhere. */
  async function watchAcrossRemoval(id: string, remove: (storage: string) => void): Promise<void> {
    const out = join(dir, `${id}.webm`);
    const watching = batonWatch(cluster.hubUrl, id, out);
    const re = new RegExp(`"assetId":"${id}","sessions"`);
    const first = await waitFor('the watch session open', () => [...cluster.servers].find(([, p]) => re.test(p.output()))?.[0]);
    await new Promise((r) => setTimeout(r, 2_000));
    remove(cluster.servers.get(first)!.storage);
    const r = await watching;
    expect(r.code, r.stdout).toBe(0);
    const summary = JSON.parse(r.stdout) as { sha256: string; bytes: number; failovers: { from: string; to: string; offset: number }[] };
    expect(summary.failovers.map((f) => f.from)).toEqual([first]);
    expect(summary.failovers[0]!.offset).toBeGreaterThan(0);
    expect(sha256(out)).toBe(sha256(SOURCE));
    expect(summary.sha256).toBe(sha256(SOURCE));
  }

  it('the file deleted: the viewer resumes on the other copy at the same byte; every byte, sha256 equal', async () => {
    await watchAcrossRemoval('gone1', (storage) => rmSync(join(storage, 'gone1.webm')));
  }, 120_000);

  it('the whole storage directory removed: the same', async () => {
    await watchAcrossRemoval('gone2', (storage) => rmSync(storage, { recursive: true, force: true }));
  }, 120_000);
});
