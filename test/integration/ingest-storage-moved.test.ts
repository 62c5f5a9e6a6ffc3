// An entry server whose storage directory is renamed away while it writes a broadcast: the server notices at its next
// flush that its `.part` left the path, fails that copy, and the publisher gets a replacement while the broadcast is live;
// the stream ends stored on two servers, sha256 equal. Before, the server wrote on into the moved file until the end,
// where the rename failed (`finalizing failed: ENOENT`): the copy was found lost only after the broadcast, when a stream
// longer than the publisher's resend buffer can no longer be sent again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MEDIA_DIR, run, THREE_SERVERS, waitFor, waitForOutput } from '../helpers/cluster.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('an entry server whose storage directory is moved away during a broadcast', () => {
  const cluster = new Cluster({ rotationMs: 0, servers: THREE_SERVERS.map((s) => ({ ...s, assets: [] })) });
  beforeAll(() => cluster.start(), 120_000);
  afterAll(() => cluster.stop());

  it('fails that copy while the broadcast is live; the replacement makes two stored copies, sha256 equal', async () => {
    const file = join(MEDIA_DIR, 'demo-testsrc.webm');
    const src = readFileSync(file);
    const streamId = 'moved-away';
    const args = ['--hub', cluster.hubUrl, '--file', file, '--location', 'Lisbon', '--stream-key', 'test-key'];
    // Twice real time: a 10-s upload.
    const pub = run(['publish', ...args, '--stream-id', streamId, '--speed', '2']);
    const [, primary, backup] = (await waitForOutput(pub, /primary (\S+) .*backup (\S+) /, 30_000)) as string[];
    const storage = cluster.servers.get(backup!)!.storage;
    const part = join(storage, `${streamId}.webm.part`);
    await waitFor(`${backup} holding a fifth of ${streamId}`, () => existsSync(part) && statSync(part).size >= src.length / 5, 30_000, 20);
    renameSync(storage, `${storage}.moved`);
    try {
      await waitForOutput(pub, new RegExp(`${backup} failed: write-failed: .*left its storage directory`), 30_000);
      // Told while live: the primary has not finalized its copy yet.
      expect(existsSync(join(cluster.servers.get(primary!)!.storage, `${streamId}.webm`))).toBe(false);
      expect(await pub.exited, pub.output().slice(-3000)).toBe(0);
    } finally {
      renameSync(`${storage}.moved`, storage);
    }
    const done = new RegExp(`published ${streamId}: (\\d+) bytes, sha256 ([0-9a-f]+), stored on (\\S+) and (\\S+) after 1 failover`).exec(
      pub.output(),
    );
    expect(done, pub.output().slice(-3000)).not.toBeNull();
    const stored = [done![3]!, done![4]!];
    expect(stored).toContain(primary);
    expect(stored).not.toContain(backup);
    for (const id of stored) expect(sha256(readFileSync(join(cluster.servers.get(id)!.storage, `${streamId}.webm`)))).toBe(sha256(src));
  }, 120_000);
});
