// A broadcast of empty Clusters (a valid head, then `1F 43 B6 75 80` over and over) piped to `baton publish --file -` is
// refused at once on both entry servers, which stay registered and answer /healthz, while a viewer of another asset plays on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BATON, Cluster, MEDIA_DIR, ROOT, type ServerSpec, waitFor } from '../helpers/cluster.js';
import { watchStream, type WatchResult } from '../../node-app/delivery/node-viewer.js';

const TWO: ServerSpec[] = [
  { id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, ingest: true, assets: ['demo-testsrc'] },
  { id: 'iad-1', region: 'us-east', lat: 38.95, lon: -77.45, ingest: true, assets: ['demo-testsrc'] },
];
/** What the reviewer sent: under the 25 Mbit/s quota, enough to take both servers out before the index was bounded. */
const FLOOD_BYTES_PER_S = 2_500_000;
const FLOOD_MAX_S = 20;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

describe('ingest: a stream of empty Clusters', () => {
  const cluster = new Cluster({ rotationMs: 0, servers: TWO });
  beforeAll(() => cluster.start(), 120_000);
  afterAll(() => cluster.stop());

  it('is refused with unsupported-media; the servers stay up and a viewer of another asset is unaffected', async () => {
    const smpte = readFileSync(join(MEDIA_DIR, 'demo-smpte.webm'));
    const head = smpte.subarray(0, smpte.indexOf(Buffer.from([0x1f, 0x43, 0xb6, 0x75])));
    const block = Buffer.alloc(64 * 1024 - ((64 * 1024) % 5));
    for (let at = 0; at < block.byteLength; at += 5) block.set([0x1f, 0x43, 0xb6, 0x75, 0x80], at);
    const state = await cluster.state();
    const servers = state.servers.map((s) => ({ id: s.id, url: (s as { httpUrl?: string }).httpUrl! }));
    const pids = TWO.map((s) => cluster.servers.get(s.id)!.child.pid!);
    const rssBefore = pids.map(rssMb);

    const child = spawn(
      process.execPath,
      [BATON, 'publish', '--hub', cluster.hubUrl, '--file', '-', '--location', 'Lisbon', '--stream-key', 'test-key'].concat([
        '--stream-id',
        'flood-1',
        '--json',
      ]),
      { cwd: ROOT, env: { ...process.env, BATON_LOG_LEVEL: 'warn' }, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.stdin.on('error', () => undefined); // EPIPE once the publisher has quit
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let done = false;
    void exited.then(() => (done = true));
    child.stdin.write(head);
    const t0 = Date.now();
    let sent = 0;
    const feeder = setInterval(() => {
      const due = Math.min(FLOOD_MAX_S, (Date.now() - t0) / 1000) * FLOOD_BYTES_PER_S;
      while (!done && sent < due) {
        child.stdin.write(block);
        sent += block.byteLength;
      }
      if (Date.now() - t0 > FLOOD_MAX_S * 1000) child.stdin.end();
    }, 20);

    // Meanwhile: a viewer of a stored asset, and both servers' /healthz and registration, until the publisher quits.
    const viewer: Promise<WatchResult> = watchStream(
      { hubUrl: cluster.hubUrl, assetId: 'demo-testsrc', timeoutMs: 30_000 },
      () => undefined,
    );
    const health: boolean[] = [];
    const registered: number[] = [];
    let slowestHealthMs = 0;
    while (!done) {
      for (const s of servers) {
        const asked = Date.now();
        health.push((await fetch(`${s.url}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined))?.ok ?? false);
        slowestHealthMs = Math.max(slowestHealthMs, Date.now() - asked);
      }
      registered.push((await cluster.state()).servers.length);
      await new Promise((r) => setTimeout(r, 100));
    }
    const code = await exited;
    const refusedAfterS = (Date.now() - t0) / 1000;
    clearInterval(feeder);

    // Refused long before the input ran out, for what it is.
    expect(code, out).not.toBe(0);
    expect(out).toMatch(/unsupported-media/);
    expect(out).toMatch(/Clusters in a row hold no frame/);
    expect(refusedAfterS).toBeLessThan(FLOOD_MAX_S);
    // Nothing of it is kept on either server.
    for (const s of TWO) {
      const storage = cluster.servers.get(s.id)!.storage;
      await waitFor(
        `no copy on ${s.id}`,
        () => !existsSync(join(storage, 'flood-1.webm.part')) && !existsSync(join(storage, 'flood-1.webm')),
      );
    }
    // The servers answered every /healthz and the hub never dropped them.
    expect(health.every(Boolean)).toBe(true);
    expect(registered.every((n) => n === TWO.length)).toBe(true);
    // The viewer got the whole asset.
    const w = await viewer;
    expect(w.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(join(MEDIA_DIR, 'demo-testsrc.webm')))
        .digest('hex'),
    );
    // No server grew by what it was sent (the index once grew by about 8 bytes per empty Cluster).
    const grown = pids.map((pid, i) => rssMb(pid) - rssBefore[i]!);
    console.log(
      JSON.stringify({
        refusedAfterS,
        slowestHealthMs,
        sentMB: sent / 1e6,
        rssBeforeMB: rssBefore.map(Math.round),
        grownMB: grown.map(Math.round),
      }),
    );
    for (const g of grown) expect(g).toBeLessThan(64);
  }, 90_000);
});
