// Every off/none value of `baton server` through the real CLI — flag, environment, config file —
// read back from the running server's /api/status (the options it actually runs with).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Cluster, ROOT, run, SECRET, waitFor, waitForOutput, type ServerSpec } from '../helpers/cluster.js';

interface StatusOptions {
  cacheMb: number;
  loadBound: number | null;
  weights: { threshold: number };
}

const configDir = mkdtempSync(join(tmpdir(), 'baton-cli-options-'));
function configFile(name: string, settings: Record<string, unknown>): string {
  const file = join(configDir, `${name}.json`);
  writeFileSync(file, JSON.stringify(settings));
  return file;
}

const at = (id: string, more: Partial<ServerSpec> = {}): ServerSpec => ({
  id,
  region: 'local',
  lat: 0,
  lon: 0,
  assets: ['demo-testsrc'],
  ...more,
});
/** One server per way of saying it (the ids name the source); each carries every setting that source can turn off. */
const SERVERS: ServerSpec[] = [
  at('default'),
  at('flag', { extraArgs: ['--load-bound', 'off'] }),
  at('env', { cacheMb: null, env: { BATON_LOAD_BOUND: 'off', BATON_CACHE_MB: '0', BATON_INGEST: 'false' } }),
  at('config', { cacheMb: null, extraArgs: ['--config', configFile('off', { loadBound: 'off', cacheMb: 0 })] }),
  // ε = 0 (the strictest bound) stays distinct from off; a true-ish BATON_INGEST turns the role on.
  at('strict', { extraArgs: ['--load-bound', '0'], env: { BATON_INGEST: '1' } }),
  at('slow-http', { extraArgs: ['--http-rate', '1'] }),
];

describe('baton server: off and none values through flag, environment and config file', () => {
  const cluster = new Cluster({ rotationMs: 0, servers: SERVERS });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  async function options(id: string): Promise<StatusOptions & { roles: string[]; budgetBytes: number }> {
    const row = await waitFor(`${id} in /api/state`, async () => (await cluster.state()).servers.find((s) => s.id === id));
    const s = (await (await fetch(`${row.httpUrl}/api/status`)).json()) as { options: StatusOptions; cache: { budgetBytes: number } };
    return { ...s.options, roles: row.roles, budgetBytes: s.cache.budgetBytes };
  }

  it('--load-bound off turns the bound off (not ε = 0) as a flag, in BATON_LOAD_BOUND and in the config file', async () => {
    expect((await options('default')).loadBound).toBe(0.2);
    for (const id of ['flag', 'env', 'config']) expect({ id, bound: (await options(id)).loadBound }).toEqual({ id, bound: null });
    expect((await options('strict')).loadBound).toBe(0);
  });

  it("--http-rate sets the requests per second per address of the server's HTTP side (bursts of twice that)", async () => {
    const row = await waitFor('slow-http in /api/state', async () => (await cluster.state()).servers.find((s) => s.id === 'slow-http'));
    const statuses = await Promise.all(Array.from({ length: 10 }, () => fetch(`${row.httpUrl}/healthz`).then((r) => r.status)));
    expect(statuses.filter((x) => x === 200).length).toBeLessThanOrEqual(4);
    expect(statuses.filter((x) => x === 429).length).toBeGreaterThanOrEqual(6);
    const fast = await waitFor('default in /api/state', async () => (await cluster.state()).servers.find((s) => s.id === 'default'));
    const ok = await Promise.all(Array.from({ length: 10 }, () => fetch(`${fast.httpUrl}/healthz`).then((r) => r.status)));
    expect(ok.every((x) => x === 200)).toBe(true);
  });

  it('a zero cache budget from the environment or the config file gives a server with no cache', async () => {
    for (const id of ['env', 'config']) {
      const o = await options(id);
      expect({ id, cacheMb: o.cacheMb, budgetBytes: o.budgetBytes }).toEqual({ id, cacheMb: 0, budgetBytes: 0 });
    }
  });

  it('BATON_INGEST=false leaves the ingest role off; BATON_INGEST=1 turns it on', async () => {
    expect((await options('env')).roles).not.toContain('ingest');
    expect((await options('strict')).roles).toContain('ingest');
  });
});

describe('baton hub --public-url', () => {
  const cluster = new Cluster({ rotationMs: 0, servers: [], hubArgs: ['--public-url', 'https://hub.example.com/'] });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('is the URL the hub list hands out (not the address it listens on); anything but one http(s) URL stops start-up', async () => {
    const config = (await (await fetch(`${cluster.hubUrl}/api/config`)).json()) as { hubs: string[] };
    expect(config.hubs).toEqual(['https://hub.example.com']);
    const bad = run(['hub', '--port', '0', '--cluster-secret', SECRET, '--public-url', 'ftp://hub.example.com']);
    const [code] = (await once(bad.child, 'exit')) as [number | null];
    expect(code).not.toBe(0);
    expect(bad.output()).toMatch(/--public-url.*http\(s\)/s);
  });
});

/** A hub serving `web`, and a GET of its paths (status and body). */
async function staticHub(web: string) {
  const hub = run(['hub', '--port', '0', '--cluster-secret', SECRET, '--static-dir', web], {}, configDir);
  const [, url] = await waitForOutput(hub, /listening on (http:\/\/\S+)/).catch((err: Error) => {
    hub.child.kill('SIGKILL');
    throw err;
  });
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${url}${path}`, { headers });
    return { status: r.status, body: await r.text() };
  };
  return { hub, get };
}

describe('baton hub --static-dir', () => {
  it("defaults to the package's own dist/web, wherever the hub is started from", async () => {
    const elsewhere = run(['hub', '--port', '0', '--cluster-secret', SECRET], {}, configDir);
    try {
      const [line] = await waitForOutput(elsewhere, /(?:Web client: |No web client at )\S+/);
      expect(line).toContain(join(ROOT, 'dist/web'));
    } finally {
      elsewhere.child.kill('SIGKILL');
    }
  });

  it('takes an empty value for the default, not the working directory (which it would serve, secret files and all)', async () => {
    writeFileSync(join(configDir, 'secret.txt'), 'not for the web');
    const hub = run(['hub', '--port', '0', '--cluster-secret', SECRET], { BATON_STATIC_DIR: '' }, configDir);
    try {
      const [line] = await waitForOutput(hub, /(?:Web client: |No web client at )\S+/);
      expect(line).toContain(join(ROOT, 'dist/web'));
      const [, url] = await waitForOutput(hub, /listening on (http:\/\/\S+)/);
      expect(await (await fetch(`${url}/secret.txt`)).text()).not.toContain('not for the web');
    } finally {
      hub.child.kill('SIGKILL');
    }
  });

  it('serves the web client built after start, and rebuilt under it (new index, new hashed files)', async () => {
    const web = mkdtempSync(join(tmpdir(), 'baton-web-'));
    const { hub, get } = await staticHub(web);
    try {
      expect((await get('/')).body).toMatch(/not built/);
      // `npm run build` after the hub started.
      mkdirSync(join(web, 'assets'));
      writeFileSync(join(web, 'assets', 'index-aaaa.js'), 'console.log("first")');
      writeFileSync(join(web, 'index.html'), '<script src="/assets/index-aaaa.js"></script>');
      expect(await get('/')).toEqual({ status: 200, body: '<script src="/assets/index-aaaa.js"></script>' });
      expect((await get('/assets/index-aaaa.js')).body).toBe('console.log("first")');
      // Rebuilt: the old hashed file is gone, a new one and a longer index take its place.
      rmSync(join(web, 'assets'), { recursive: true });
      mkdirSync(join(web, 'assets'));
      writeFileSync(join(web, 'assets', 'index-bbbb.js'), 'console.log("second build")');
      const index = '<!doctype html><script type="module" src="/assets/index-bbbb.js"></script>';
      writeFileSync(join(web, 'index.html'), index);
      expect(await get('/')).toEqual({ status: 200, body: index });
      expect(await get('/#/watch')).toEqual({ status: 200, body: index });
      expect(await get('/assets/index-bbbb.js')).toEqual({ status: 200, body: 'console.log("second build")' });
      // A file written after the index (the index unchanged) is found by a rescan, at most one a second.
      writeFileSync(join(web, 'assets', 'late-cccc.js'), 'late');
      await new Promise((r) => setTimeout(r, 1_100));
      expect(await get('/assets/late-cccc.js')).toEqual({ status: 200, body: 'late' });
    } finally {
      hub.child.kill('SIGKILL');
      rmSync(web, { recursive: true, force: true });
    }
  });

  it('a directory it cannot walk (a dangling symlink, a file removed as it is walked) is not served, and the hub lives on', async () => {
    const web = mkdtempSync(join(tmpdir(), 'baton-web-'));
    mkdirSync(join(web, 'assets'));
    writeFileSync(join(web, 'assets', 'index-aaaa.js'), 'console.log("built")');
    writeFileSync(join(web, 'index.html'), '<script src="/assets/index-aaaa.js"></script>');
    symlinkSync(join(web, 'no-such-file'), join(web, 'assets', 'dangling.js'));
    const { hub, get } = await staticHub(web);
    try {
      // Before, sirv's walk threw out of the request handler and the first request killed the hub.
      for (const path of ['/', '/assets/index-aaaa.js', '/#/watch']) expect((await get(path)).body).toMatch(/not built/);
      await waitForOutput(hub, /web client directory cannot be read/);
      expect((await get('/healthz')).status).toBe(200);
      // Once the directory can be walked again, it is served (a scan at most once a second).
      rmSync(join(web, 'assets', 'dangling.js'));
      await waitFor('the built file served', async () => (await get('/assets/index-aaaa.js')).body === 'console.log("built")', 5_000);
      expect(hub.child.exitCode).toBeNull();
    } finally {
      hub.child.kill('SIGKILL');
      rmSync(web, { recursive: true, force: true });
    }
  });

  it('a Range it cannot serve as asked (start past end, suffix, several) is ignored: the whole file, and the hub lives on', async () => {
    const web = mkdtempSync(join(tmpdir(), 'baton-web-'));
    const index = '<!doctype html><p>twenty-some bytes</p>';
    writeFileSync(join(web, 'index.html'), index);
    const { hub, get } = await staticHub(web);
    try {
      for (const range of ['bytes=5-2', 'bytes=-5', 'bytes=0-1,4-5', 'bytes=x-y']) {
        // Before, `bytes=5-2` threw out of sirv's handler after its 206 head: the hub process ended.
        expect(await get('/index.html', { range }), range).toEqual({ status: 200, body: index });
      }
      expect(await get('/index.html', { range: 'bytes=2-5' })).toEqual({ status: 206, body: index.slice(2, 6) });
      expect(hub.child.exitCode).toBeNull();
    } finally {
      hub.child.kill('SIGKILL');
      rmSync(web, { recursive: true, force: true });
    }
  });

  it('an empty environment variable counts as unset: BATON_STORAGE="" is a missing --storage, not the working directory', async () => {
    const server = run(
      ['server', '--hub', 'http://127.0.0.1:9', '--cluster-secret', SECRET, '--id', 'empty-env'],
      { BATON_STORAGE: '' },
      configDir,
    );
    const [code] = (await once(server.child, 'exit')) as [number | null];
    expect(code).not.toBe(0);
    expect(server.output()).toMatch(/required option '--storage <dir>' not specified/);
  });
});

describe('BATON_* variables and config keys no command reads', () => {
  /** The exit code, or 'started' (and the process killed) when it started instead of stopping. */
  const exitOf = async (args: string[], env: Record<string, string>) => {
    const p = run(args, env, configDir);
    const started = waitForOutput(p, /listening on|metrics on/, 30_000).then(
      () => 'started' as const,
      () => new Promise<never>(() => undefined),
    );
    const code = await Promise.race([once(p.child, 'exit').then(([c]) => c as number | null), started]);
    if (code === 'started') p.child.kill('SIGKILL');
    return { code, out: p.output() };
  };

  it('BATON_REDIS (the variable is BATON_REDIS_URL) stops the hub naming the one meant, instead of a hub alone without Redis', async () => {
    const { code, out } = await exitOf(['hub', '--port', '0', '--cluster-secret', SECRET], { BATON_REDIS: 'redis://127.0.0.1:9/0' });
    expect(code).toBe(1);
    expect(out).toContain('BATON_REDIS is not a setting of `baton hub`: did you mean BATON_REDIS_URL?');
    expect(out).not.toContain('listening on');
  });

  it('a near miss of a server variable stops it; a name far from any is said on stderr and the hub starts', async () => {
    const server = await exitOf(['server', '--hub', 'http://127.0.0.1:9', '--cluster-secret', SECRET, '--storage', configDir], {
      BATON_SERVERID: 'typo',
    });
    expect(server.code).not.toBe(0);
    expect(server.out).toContain('did you mean BATON_SERVER_ID?');
    const hub = run(['hub', '--port', '0', '--cluster-secret', SECRET], { BATON_SOMETHING_ELSE: '1' }, configDir);
    try {
      await waitForOutput(hub, /listening on/);
      expect(hub.output()).toContain('BATON_SOMETHING_ELSE is not a setting of any Baton command; ignored');
    } finally {
      hub.child.kill('SIGKILL');
    }
  });

  it('a config file saved with a byte-order mark (Windows editors save UTF-8 so) is read', async () => {
    // Before: `Unexpected token 'U+FEFF', "U+FEFF{"port":0"... is not valid JSON`, the token invisible on a terminal.
    const file = join(configDir, 'bom.json');
    writeFileSync(file, `\uFEFF${JSON.stringify({ port: 0, clusterSecret: SECRET })}`);
    const { code, out } = await exitOf(['hub', '--config', file], {});
    expect(code, out).toBe('started');
  });

  it('a config key one letter off names the key meant', async () => {
    const { code, out } = await exitOf(['hub', '--config', configFile('typo', { port: 0, clusterSecret: SECRET, rotatonMs: 5000 })], {});
    expect(code).not.toBe(0);
    expect(out).toContain('unknown setting "rotatonMs" for `baton hub`: did you mean "rotationMs"?');
  });
});
