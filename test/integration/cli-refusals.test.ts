// Bad settings through the real CLI: a clear error and a non-zero exit, never a process that starts and then misbehaves
// (a timer that fires after 1 ms, a registration refused and retried for ever, a server removed and re-added for ever).
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, run, SECRET, waitForOutput } from '../helpers/cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-cli-refusals-'));
async function exitOf(p: ReturnType<typeof run>): Promise<number | null> {
  const [code] = (await once(p.child, 'exit')) as [number | null];
  return code;
}

describe('baton: a timer value Node cannot keep stops start-up, as a flag, in the environment or in --config', () => {
  const config = join(dir, 'rotation.json');
  writeFileSync(config, JSON.stringify({ rotationMs: 3_000_000_000 }));
  for (const [how, args, env] of [
    ['flag', ['--rotation-ms', '3000000000'], {}],
    ['environment', [], { BATON_ROTATION_MS: '3000000000' }],
    ['config file', ['--config', config], {}],
  ] as const)
    it(`hub rotation period in the ${how}`, async () => {
      const hub = run(['hub', '--port', '0', '--cluster-secret', SECRET, ...args], env);
      expect(await exitOf(hub)).not.toBe(0);
      expect(hub.output()).toMatch(/rotation-ms must be an integer in 0\.\.\d+/);
      expect(hub.output()).not.toMatch(/listening on/);
    });
});

describe('baton server: a registration the hub refuses for good ends the server', () => {
  let hub: ReturnType<typeof run>;
  afterAll(() => hub?.child.kill('SIGKILL'));

  it('a heartbeat period longer than the hub expects: refused once, naming both periods and the flag; exit 1', async () => {
    hub = run(['hub', '--port', '0', '--cluster-secret', SECRET]);
    const [, url] = await waitForOutput(hub, /listening on (http:\/\/\S+)/);
    const server = run([
      'server',
      '--hub',
      url!,
      '--cluster-secret',
      SECRET,
      '--id',
      'slow-beat',
      '--storage',
      mkdtempSync(join(dir, 'storage-')),
      '--heartbeat-ms',
      '5000',
      '--no-posters',
      '--no-renditions',
    ]);
    expect(await exitOf(server)).toBe(1);
    expect(server.output()).toMatch(/beats every 5000 ms but the hub expects a heartbeat every 1000 ms.*--heartbeat-ms/);
    expect(server.output().match(/registration refused/g)).toHaveLength(1);
  });

  it('a region longer than a registration may carry is refused before anything starts', async () => {
    const server = run(['server', '--cluster-secret', SECRET, '--id', 'x', '--storage', dir, '--region', 'r'.repeat(65)]);
    expect(await exitOf(server)).not.toBe(0);
    expect(server.output()).toMatch(/region must be 1–64 characters, got 65/);
  });
});

describe('baton: an empty value is no value', () => {
  for (const [name, args, flags] of [
    ['watch --out ""', ['watch', '--hub', 'http://127.0.0.1:9', '--asset', 'a', '--out', ''], '--out <file>'],
    [
      'publish --file ""',
      ['publish', '--hub', 'http://127.0.0.1:9', '--file', '', '--location', 'Lisbon', '--stream-key', 'k'],
      '--file <path>',
    ],
  ] as const)
    it(`${name} is a missing required option, said as commander says it`, async () => {
      const p = run([...args]);
      expect(await exitOf(p)).not.toBe(0);
      expect(p.output()).toMatch(new RegExp(`error: required option '${flags}' not specified`));
      expect(p.output()).not.toMatch(/ERR_INVALID_ARG_TYPE/);
    });

  it('an empty environment variable counts as unset for every option (BATON_PORT=, BATON_CACHE_MB= as BATON_STORAGE=)', async () => {
    const hub = run(['hub'], { BATON_PORT: '', BATON_ROTATION_MS: ' ', BATON_CLUSTER_SECRET: '' });
    expect(await exitOf(hub)).not.toBe(0);
    expect(hub.output()).toMatch(/required option '--cluster-secret <s>' not specified/);
    const server = run(['server', '--cluster-secret', SECRET, '--id', 'e'], { BATON_CACHE_MB: '', BATON_STORAGE: '' });
    expect(await exitOf(server)).not.toBe(0);
    expect(server.output()).toMatch(/required option '--storage <dir>' not specified/);
    expect(server.output()).not.toMatch(/cache-mb/);
  });
});

describe('baton watch: Ctrl-C or a stop leaves no file', () => {
  // A hub that accepts connections and never answers: the watch waits, its temporary file already open.
  let silent: Server;
  let url: string;
  afterAll(() => silent?.close());

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)
    it(`${signal}: the temporary file is deleted and the exit is ${code}`, async () => {
      if (!silent) {
        silent = createServer(() => {});
        await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
        url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
      }
      const outDir = mkdtempSync(join(dir, 'watch-'));
      const out = join(outDir, 'movie.webm');
      const watch = run(['watch', '--hub', url, '--asset', 'demo-testsrc', '--out', out]);
      const parts = () => readdirSync(outDir).filter((f) => f.endsWith('.part'));
      while (parts().length === 0) {
        if (watch.child.exitCode !== null) throw new Error(`watch exited early: ${watch.output()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      watch.child.kill(signal);
      expect(await exitOf(watch)).toBe(code);
      expect(readdirSync(outDir)).toEqual([]);
      expect(existsSync(out)).toBe(false);
      expect(watch.output()).toMatch(new RegExp(`stopped \\(${signal}\\); nothing saved`));
    });
});

describe('baton demo (what npm start runs) given a flag the npm way', () => {
  it('npm start --port 49101 hands the demo "49101" alone: it says how npm passes flags and exits non-zero', async () => {
    const demo = run(['demo', '49101']);
    expect(await exitOf(demo)).not.toBe(0);
    expect(demo.output()).toMatch(/takes no arguments, got "49101"; through npm, flags go after --: npm start -- --port 8090/);
  });
});

describe('baton demo (what npm start runs) on a port in use', () => {
  it('says so and how to pick another port, also through npm start, and exits non-zero', async () => {
    const taken: Server = createServer(() => {});
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (taken.address() as { port: number }).port;
      // The demo media already made (var/media) and the web client not built: the hub is what fails.
      const demo = run(['demo', '--port', String(port), '--servers', '1', '--no-build', '--data-dir', join(ROOT, 'var')]);
      expect(await exitOf(demo)).not.toBe(0);
      expect(demo.output()).toMatch(new RegExp(`port ${port} in use\\? try another: --port N \\(npm start -- --port N\\) or BATON_PORT=N`));
    } finally {
      taken.close();
    }
  }, 60_000);
});
