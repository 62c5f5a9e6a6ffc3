// A copy lost at the end of a fast upload, one hub alive: `baton publish --speed 4` (a 5-s upload) whose primary is
// SIGKILLed or hangs (SIGSTOP) as the upload ends still ends stored on two servers, byte-identical: the copy is made
// again on the third server after the end, from the publisher's resend buffer. Real hub, servers and CLI.
// Before, the backup finalized first and the publisher stopped asking (a hung primary is noticed by the hub only after
// three missed heartbeats, 3 s here): the stream ended stored on the backup alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, run, waitFor, waitForOutput } from '../helpers/cluster.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('broadcast: a copy lost at the end of a fast upload', () => {
  const cluster = new Cluster({ rotationMs: 0 });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  const file = join(MEDIA_DIR, 'demo-testsrc.webm');
  const storageOf = (id: string) => cluster.servers.get(id)!.storage;

  /** Publishes the clip at 4× as `streamId`; `signal` goes to the primary once it holds `share` of it. */
  async function publishLosingPrimary(streamId: string, signal: NodeJS.Signals, share: number, extra: string[]) {
    const src = readFileSync(file);
    const args = ['--hub', cluster.hubUrl, '--file', file, '--location', 'Lisbon', '--stream-key', 'test-key'];
    const t0 = performance.now();
    const pub = run(['publish', ...args, '--stream-id', streamId, '--speed', '4', ...extra]);
    const primary = (await waitForOutput(pub, /primary (\S+) /, 30_000))[1]!;
    const part = join(storageOf(primary), `${streamId}.webm.part`);
    await waitFor(
      `${primary} holding ${share} of ${streamId}`,
      () => existsSync(part) && statSync(part).size >= src.length * share,
      30_000,
      20,
    );
    cluster.servers.get(primary)!.child.kill(signal);
    const code = await pub.exited;
    const took = Math.round(performance.now() - t0);
    console.log(`baton publish --speed 4 ${extra.join(' ')}, primary ${signal} at ${share * 100} %: exited after ${took} ms`);
    return { src, primary, code, output: pub.output() };
  }

  // The third: the clip (1.6 MB) is six times the resend buffer, so the new copy after the end is read from the file.
  it.each([
    { signal: 'SIGSTOP' as const, how: 'hangs', share: 0.85, extra: [] },
    { signal: 'SIGKILL' as const, how: 'is SIGKILLed', share: 0.95, extra: [] },
    { signal: 'SIGKILL' as const, how: 'is SIGKILLed (0.25-MiB resend buffer)', share: 0.95, extra: ['--resend-buffer-mb', '0.25'] },
  ])(
    'the primary $how as the upload ends: the stream still ends stored on two servers, sha256 equal',
    async ({ signal, share, extra }) => {
      const streamId = `end-${signal.toLowerCase()}${extra.length ? '-small-buffer' : ''}`;
      const { src, primary, code, output } = await publishLosingPrimary(streamId, signal, share, extra);
      try {
        expect(code, output.slice(-3000)).toBe(0);
        const done = new RegExp(
          `published ${streamId}: (\\d+) bytes, sha256 ([0-9a-f]+), stored on (\\S+) and (\\S+) after 1 failover`,
        ).exec(output);
        expect(done, output.slice(-3000)).not.toBeNull();
        expect(Number(done![1])).toBe(src.length);
        expect(done![2]).toBe(sha256(src));
        const stored = [done![3]!, done![4]!];
        expect(stored).not.toContain(primary);
        for (const id of stored) expect(readFileSync(join(storageOf(id), `${streamId}.webm`)).equals(src)).toBe(true);
      } finally {
        // The next case starts from three live servers again.
        if (signal === 'SIGSTOP') cluster.servers.get(primary)!.child.kill('SIGKILL');
        await cluster.servers.get(primary)!.exited;
        await cluster.startServer(cluster.servers.get(primary)!.spec);
      }
    },
    90_000,
  );
});
