// A stored file that leaves its media server while a viewer plays it (the file deleted, the whole storage directory
// removed), or changes under its id there (replaced atomically, copied over in place): the viewer resumes on another
// holder of the same file at the same byte, as when a server dies, and never on the changed one; with no such holder
// left it ends with `asset-changed` and nothing written. Before, the session ended with `asset-changed` and `baton
// watch` stopped with nothing written, though the other copy was the same.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATON, Cluster, MEDIA_DIR, ROOT, waitFor } from '../helpers/cluster.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'baton-storage-gone-'));
const SOURCE = join(MEDIA_DIR, 'demo-mandelbrot.webm');
const OTHER = join(MEDIA_DIR, 'demo-smpte.webm');
const IDS = ['gone1', 'gone2', 'chg1', 'chg2', 'chg3', 'chg4'];
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

/** `source` over `path` as an operator's `cp new.webm x.webm.new && mv x.webm.new x.webm` does: another inode. */
function replaceAtomically(path: string, source: string): void {
  copyFileSync(source, `${path}.new`);
  renameSync(`${path}.new`, path);
}

/** Its last 64 KiB written over in place with other bytes: the same inode and size, another fingerprint. */
function rewriteTailInPlace(path: string): void {
  const { ino, size } = statSync(path);
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, new Uint8Array(64 * 1024).fill(0x5a), 0, 64 * 1024, size - 64 * 1024);
  } finally {
    closeSync(fd);
  }
  expect(statSync(path)).toMatchObject({ ino, size });
}

/** `source` over `path` as `cp new.webm x.webm` does: the same inode truncated and written again. */
function copyOverInPlace(path: string, source: string): void {
  const ino = statSync(path).ino;
  copyFileSync(source, path);
  expect(statSync(path).ino).toBe(ino);
}

describe('a stored file that leaves or changes on the server a viewer plays it from', () => {
  const cluster = new Cluster({
    servers: [
      { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: [] },
      { id: 'ams-1', region: 'eu-west', lat: 52.37, lon: 4.9, assets: [] },
    ],
  });
  beforeAll(async () => {
    await cluster.start();
    for (const id of ['fra-1', 'ams-1']) for (const a of IDS) copyFileSync(SOURCE, join(cluster.servers.get(id)!.storage, `${a}.webm`));
    await waitFor('every id on both servers', async () => {
      const { assets } = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as { assets: { id: string; holders: string[] }[] };
      return assets.filter((a) => IDS.includes(a.id) && a.holders.length === 2).length === IDS.length;
    });
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Watches `id`, runs `change(first, other)` 2 s in (`first`: the server it plays from); the watch's result. */
  async function watchAcross(id: string, change: (first: string, other: string) => Promise<void> | void) {
    const out = join(dir, `${id}.webm`);
    const watching = batonWatch(cluster.hubUrl, id, out);
    const re = new RegExp(`"assetId":"${id}","sessions"`);
    const first = await waitFor('the watch session open', () => [...cluster.servers].find(([, p]) => re.test(p.output()))?.[0]);
    await new Promise((r) => setTimeout(r, 2_000));
    await change(first, first === 'fra-1' ? 'ams-1' : 'fra-1');
    return { first, out, ...(await watching) };
  }

  const storage = (server: string) => cluster.servers.get(server)!.storage;

  /** The watch ended whole on the other server, resumed at the byte it had reached: every byte, sha256 of the source. */
  function expectResumedElsewhere(r: { first: string; out: string; code: number; stdout: string }): void {
    expect(r.code, r.stdout).toBe(0);
    const summary = JSON.parse(r.stdout) as { sha256: string; failovers: { from: string; to: string; offset: number }[] };
    expect(summary.failovers.map((f) => [f.from, f.to])).toEqual([[r.first, r.first === 'fra-1' ? 'ams-1' : 'fra-1']]);
    expect(summary.failovers[0]!.offset).toBeGreaterThan(0);
    expect(sha256(r.out)).toBe(sha256(SOURCE));
    expect(summary.sha256).toBe(sha256(SOURCE));
  }

  // These run beside one another, each on an id of its own: one after another they took ≈ 60 s of paced watches.
  describe('each on an id of its own', { concurrent: true }, () => {
    it('the file deleted: the viewer resumes on the other copy at the same byte; every byte, sha256 equal', async () => {
      expectResumedElsewhere(await watchAcross('gone1', (first) => rmSync(join(storage(first), 'gone1.webm'))));
    }, 120_000);

    it('replaced atomically with another file (asset-changed): the same, and the changed server is not asked again', async () => {
      expectResumedElsewhere(await watchAcross('chg1', (first) => replaceAtomically(join(storage(first), 'chg1.webm'), OTHER)));
    }, 120_000);

    it('copied over in place (same inode, another size): the same', async () => {
      expectResumedElsewhere(await watchAcross('chg2', (first) => copyOverInPlace(join(storage(first), 'chg2.webm'), OTHER)));
    }, 120_000);

    it('rewritten in place keeping its inode and size (caught by a rescan, not by reads): the watch stops (asset-rewritten), nothing written', async () => {
      // No read refused the new bytes before the rescan: some may have been sent, so no other copy may continue them.
      const r = await watchAcross('chg4', (first) => rewriteTailInPlace(join(storage(first), 'chg4.webm')));
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, code: 'asset-rewritten' });
      expect(existsSync(r.out)).toBe(false);
    }, 120_000);

    it('changed on both servers: the watch ends with asset-changed, saying why, and nothing is written', async () => {
      const r = await watchAcross('chg3', async (first, other) => {
        replaceAtomically(join(storage(other), 'chg3.webm'), OTHER);
        await new Promise((res) => setTimeout(res, 300));
        replaceAtomically(join(storage(first), 'chg3.webm'), OTHER);
      });
      expect(r.code).toBe(1);
      const summary = JSON.parse(r.stdout) as { ok: boolean; code: string; message: string };
      expect(summary).toMatchObject({ ok: false, code: 'asset-changed' });
      expect(summary.message).toMatch(/copy/);
      expect(existsSync(r.out)).toBe(false);
    }, 120_000);
  });

  it('the whole storage directory removed (after the others: it takes their files too): the viewer resumes on the other copy', async () => {
    expectResumedElsewhere(await watchAcross('gone2', (first) => rmSync(storage(first), { recursive: true, force: true })));
  }, 120_000);
});
