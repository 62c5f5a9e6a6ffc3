// An ingest server whose storage refuses new files (its directory gone; read-only, immutable and full disks answer the
// same check) is sent no broadcast until it takes files again. Before, the director kept choosing it as a primary: each
// broadcast failed there (`locking … ENOENT`) and was replaced, and in a two-server cluster it ended stored once.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATON, Cluster, MEDIA_DIR, ROOT, THREE_SERVERS, waitFor } from '../helpers/cluster.js';

/** `baton publish --fast --json` of the 30-s demo clip from Lisbon (fra-1 is the nearest entry server): its summary. */
function publish(hubUrl: string, streamId: string): Promise<{ code: number | null; out: Record<string, unknown>; stderr: string }> {
  const args = ['publish', '--hub', hubUrl, '--file', join(MEDIA_DIR, 'demo-smpte.webm'), '--location', 'Lisbon'];
  const child = spawn(process.execPath, [BATON, ...args, '--stream-key', 'test-key', '--stream-id', streamId, '--fast', '--json'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      const line = stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1);
      resolve({ code, out: JSON.parse(line ?? '{}') as Record<string, unknown>, stderr });
    }),
  );
}

describe('an ingest server whose storage refuses new files', () => {
  const cluster = new Cluster({ servers: THREE_SERVERS.map((s) => ({ ...s, assets: [] })) });
  const writable = async (id: string) => (await cluster.state()).servers.find((s) => s.id === id)?.storageWritable;
  beforeAll(() => cluster.start(), 120_000);
  afterAll(() => cluster.stop());

  it('is left out of broadcasts while its storage directory is gone, and taken again once it is back', async () => {
    const storage = cluster.servers.get('fra-1')!.storage;
    expect(await writable('fra-1')).toBe(true);
    rmSync(storage, { recursive: true, force: true });
    await waitFor('fra-1 reports storage that refuses files', async () => (await writable('fra-1')) === false, 15_000);

    const away = await publish(cluster.hubUrl, 'refusing-1');
    expect(away.code, away.stderr).toBe(0);
    expect(away.out).toMatchObject({ streamId: 'refusing-1', failovers: [] });
    expect(away.out.primary).not.toBe('fra-1');
    expect(away.out.backup).not.toBe('fra-1');
    expect((away.out.stored as string[]).length).toBe(2);

    mkdirSync(storage);
    await waitFor('fra-1 reports room again', async () => (await writable('fra-1')) === true, 15_000);
    const back = await publish(cluster.hubUrl, 'refusing-2');
    expect(back.code, back.stderr).toBe(0);
    expect(back.out).toMatchObject({ streamId: 'refusing-2', primary: 'fra-1', failovers: [] });
  }, 120_000);
});
