// A stored file that changes under a running media server: the next watch gets the new file's bytes (never the old
// file's from the block cache), and the hub's catalog the new size, duration and bitrate. Real hub, server and CLI.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATON, Cluster, MEDIA_DIR, ROOT, waitFor } from '../helpers/cluster.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'baton-storage-change-'));
const OLD = join(MEDIA_DIR, 'demo-testsrc.webm');
const NEW = join(MEDIA_DIR, 'demo-smpte.webm');

interface CatalogEntry {
  id: string;
  bytes: number;
  durationMs?: number | null;
  bitrateBps?: number;
  holders: string[];
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** `baton watch --json` (paced unless `--fast` is in `extra`): its exit code and output, never rejecting. */
function batonWatch(hubUrl: string, id: string, out: string, extra: string[] = []): Promise<{ code: number; stdout: string }> {
  return exec(process.execPath, [BATON, 'watch', '--hub', hubUrl, '--asset', id, '--out', out, '--json', ...extra], {
    cwd: ROOT,
    encoding: 'utf8',
  }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Every case runs beside the others: each has an id of its own (and its own output files), and the second describe a
// cluster of its own. The server's cache (64 MiB) holds every id at once. One after another they took ≈ 60 s, most of
// it paced watches and rescans.
const SIDE_BY_SIDE = { concurrent: true };

describe('a stored file that changes', SIDE_BY_SIDE, () => {
  const cluster = new Cluster({
    servers: [{ id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: [], cacheMb: 64, extraArgs: ['--allow-fast'] }],
  });
  let storage = '';
  beforeAll(async () => {
    await cluster.start();
    storage = cluster.servers.get('fra-1')!.storage;
  }, 120_000);
  afterAll(() => cluster.stop());

  async function catalogEntry(id: string): Promise<CatalogEntry | undefined> {
    const { assets } = (await (await fetch(`${cluster.hubUrl}/api/catalog?id=${id}`)).json()) as { assets: CatalogEntry[] };
    return assets.find((a) => a.id === id);
  }

  async function watch(id: string, name: string): Promise<string> {
    const out = join(dir, name);
    const r = await batonWatch(cluster.hubUrl, id, out, ['--fast']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).sha256).toBe(sha256(out));
    return sha256(out);
  }

  /** Puts `source` in storage as `id` (a copy, then a rename: never a half-written file) and waits for the catalog. */
  async function store(id: string, source: string): Promise<void> {
    const path = join(storage, `${id}.webm`);
    copyFileSync(source, `${path}.new`);
    renameSync(`${path}.new`, path);
    const bytes = statSync(source).size;
    await waitFor(`${id} listed with ${bytes} bytes`, async () => (await catalogEntry(id))?.bytes === bytes);
  }

  /** Two watches of `id`: the second has the file's blocks in the cache (as the hub's table says). */
  async function watchTwiceCached(id: string): Promise<void> {
    expect(await watch(id, `${id}-a.webm`)).toBe(sha256(OLD));
    expect(await watch(id, `${id}-b.webm`)).toBe(sha256(OLD));
    await waitFor(`${id} cached on fra-1`, async () => (await cluster.state()).servers[0]!.cache.includes(id));
  }

  it('replaced atomically with other content: the next watch gets the new file exactly, the catalog its size and bitrate', async () => {
    await store('swap1', OLD);
    const before = (await catalogEntry('swap1'))!;
    await watchTwiceCached('swap1');
    await store('swap1', NEW);
    const after = (await catalogEntry('swap1'))!;
    expect(after.bytes).toBe(statSync(NEW).size);
    expect(after.bitrateBps).not.toBe(before.bitrateBps);
    expect(await watch('swap1', 'swap1-c.webm')).toBe(sha256(NEW));
    expect(await watch('swap1', 'swap1-d.webm')).toBe(sha256(NEW));
  }, 120_000);

  /** A paced watch of the 30 s demo stored as `id` (still reading when `change` runs, 2 s in): its result and output path. */
  async function watchAcross(id: string, change: () => unknown): Promise<{ code: number; stdout: string; out: string }> {
    await store(id, join(MEDIA_DIR, 'demo-mandelbrot.webm'));
    const server = cluster.servers.get('fra-1')!;
    const out = join(dir, `${id}-live.webm`);
    const watching = batonWatch(cluster.hubUrl, id, out);
    await waitFor('the watch session open', () => new RegExp(`"assetId":"${id}","sessions"`).test(server.output()));
    await new Promise((r) => setTimeout(r, 2_000));
    await change();
    return { ...(await watching), out };
  }

  /** Told why, and nothing kept: the bytes it had were the old file's start, the rest would have been the new one's. */
  function expectAssetChanged(r: { code: number; stdout: string; out: string }): void {
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, code: 'asset-changed' });
    expect(existsSync(r.out)).toBe(false);
  }

  it('replaced while a viewer reads it: the session ends with asset-changed, the viewer never gets a mix', async () => {
    expectAssetChanged(await watchAcross('swap3', () => store('swap3', NEW)));
  }, 120_000);

  it('copied over in place (same inode, another size) while a viewer reads it: the session ends with asset-changed', async () => {
    const r = await watchAcross('inplace1', () => {
      const path = join(storage, 'inplace1.webm');
      const ino = statSync(path).ino;
      // Truncates and writes the same inode: the reader's next block would be the new file's.
      copyFileSync(NEW, path);
      expect(statSync(path).ino).toBe(ino);
    });
    expectAssetChanged(r);
  }, 120_000);

  it('touched (another mtime, the same bytes) while a viewer reads it: the watch completes with the file', async () => {
    const r = await watchAcross('touch1', () => {
      const later = new Date(Date.now() + 5_000);
      utimesSync(join(storage, 'touch1.webm'), later, later);
    });
    expect(r.code).toBe(0);
    expect(sha256(r.out)).toBe(sha256(join(MEDIA_DIR, 'demo-mandelbrot.webm')));
  }, 120_000);

  it('removed, then stored again under the same id: the next watch gets the new bytes', async () => {
    await store('swap2', OLD);
    await watchTwiceCached('swap2');
    unlinkSync(join(storage, 'swap2.webm'));
    await waitFor('swap2 gone from the catalog', async () => (await catalogEntry('swap2')) === undefined);
    await store('swap2', NEW);
    expect(await watch('swap2', 'swap2-c.webm')).toBe(sha256(NEW));
  }, 120_000);
});

describe('two holders whose copies of an id differ', SIDE_BY_SIDE, () => {
  const cluster = new Cluster({
    servers: [
      { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: [] },
      { id: 'ams-1', region: 'eu-west', lat: 52.37, lon: 4.9, assets: [] },
    ],
  });
  beforeAll(async () => {
    await cluster.start();
    copyFileSync(join(MEDIA_DIR, 'demo-mandelbrot.webm'), join(cluster.servers.get('fra-1')!.storage, 'fo1.webm'));
    copyFileSync(OLD, join(cluster.servers.get('ams-1')!.storage, 'fo1.webm'));
    await waitFor('fo1 on both', async () => {
      const { assets } = (await (await fetch(`${cluster.hubUrl}/api/catalog?id=fo1`)).json()) as { assets: CatalogEntry[] };
      return assets[0]?.holders.length === 2;
    });
  }, 120_000);
  afterAll(() => cluster.stop());

  it('a viewer whose server dies does not resume in the other copy: it stops with asset-changed', async () => {
    const out = join(dir, 'fo1.webm');
    const watching = batonWatch(cluster.hubUrl, 'fo1', out);
    const first = await waitFor(
      'the watch session open',
      () => [...cluster.servers].find(([, p]) => /"assetId":"fo1","sessions"/.test(p.output()))?.[0],
    );
    await new Promise((r) => setTimeout(r, 2_000));
    await cluster.kill(first);
    const r = await watching;
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, code: 'asset-changed' });
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});
