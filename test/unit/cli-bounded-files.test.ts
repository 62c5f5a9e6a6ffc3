// Files the CLI reads (--config, --*-secret-file) are bounded as they are read, not by what stat says: /dev/zero and
// a FIFO report 0 bytes and never end. Real `baton` processes.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBoundedFile } from '../../node-app/cli/bounded-file.js';
import { BATON, ROOT } from '../helpers/cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-bounded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `baton` with no secrets from the environment; killed after 20 s (the old code read /dev/zero for ever). */
function run(args: string[]): Promise<{ code: number | null; stderr: string; killed: boolean }> {
  return new Promise((resolve) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BATON_')));
    execFile(process.execPath, [BATON, ...args], { cwd: ROOT, env, timeout: 20_000 }, (err, _out, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr, killed: Boolean(err?.killed) }),
    );
  });
}

describe('files the CLI reads', () => {
  it('readBoundedFile: a device or a FIFO past the bound is refused after bound + 1 bytes; a small file is read', () => {
    expect(() => readBoundedFile('/dev/zero', 1_024)).toThrow(/larger than 1024 bytes/);
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // A writer that never stops (`yes` into the FIFO); the read blocks until it has opened its end.
    const writer = spawn('sh', ['-c', `exec yes > '${fifo}'`], { stdio: 'ignore' });
    try {
      expect(() => readBoundedFile(fifo, 4_096)).toThrow(/larger than 4096 bytes/);
    } finally {
      writer.kill();
    }
    const small = join(dir, 'small');
    writeFileSync(small, 'x'.repeat(4_096));
    expect(readBoundedFile(small, 4_096)).toHaveLength(4_096);
  });

  it('--config /dev/zero and --cluster-secret-file /dev/zero stop start-up with the bound named', async () => {
    const config = await run(['hub', '--port', '0', '--config', '/dev/zero']);
    expect(config.killed).toBe(false);
    expect(config.code).toBe(1);
    expect(config.stderr).toMatch(/config file \/dev\/zero: larger than 1048576 bytes/);
    const secret = await run(['hub', '--port', '0', '--cluster-secret-file', '/dev/zero']);
    expect(secret.killed).toBe(false);
    expect(secret.code).toBe(1);
    expect(secret.stderr).toMatch(/--cluster-secret-file \/dev\/zero: larger than 4096 bytes/);
  }, 60_000);
});
