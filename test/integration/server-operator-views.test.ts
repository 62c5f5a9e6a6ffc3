// A media server's operator views (/metrics, /api/table, /api/status) behind the hub's gate (review8 #9):
// without --operator-token only direct requests from this machine see them (not what a proxy forwarded, not a
// rebound host name); with one, only its holders. Media bytes, posters and /healthz stay public.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BATON, Cluster, ROOT, SECRET, waitFor } from '../helpers/cluster.js';

const OPERATOR_TOKEN = 'operator-token-for-the-server-views';
const OPERATOR_PATHS = ['/metrics', '/api/table', '/api/status'];
/** What a reverse proxy on the server's machine forwards, and a page of another site rebound to 127.0.0.1. */
const NOT_DIRECT: Record<string, string>[] = [
  { 'x-forwarded-for': '203.0.113.9' },
  { forwarded: 'for=203.0.113.9' },
  { 'x-real-ip': '203.0.113.9' },
  { host: 'rebound.example:8080' },
];

/** node:http, not fetch: fetch sends its own Host whatever it is given. */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** Each server's HTTP side, from the hub's state (the hub's own views are open to this machine). */
async function httpUrlOf(cluster: Cluster, id: string): Promise<string> {
  return waitFor(`${id}'s HTTP URL`, async () => (await cluster.state()).servers.find((s) => s.id === id)?.httpUrl);
}

/** The public routes answer anyone, forwarded or not; the poster once the server has made it (ffmpeg). */
async function expectPublic(url: string, headers: Record<string, string>): Promise<void> {
  expect((await get(`${url}/healthz`, headers)).status).toBe(200);
  const media = await get(`${url}/media/demo-smpte.webm`, { ...headers, range: 'bytes=0-3' });
  expect(media.status).toBe(206);
  // The EBML magic: the bytes of the stored file.
  expect(Buffer.from(media.body, 'latin1')).toEqual(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]));
  await waitFor('the poster', async () => (await get(`${url}/poster/demo-smpte.jpg`, headers)).status === 200, 60_000);
}

describe('review8 #9: a media server without --operator-token', () => {
  const cluster = new Cluster({
    rotationMs: 0,
    heartbeatMs: 500,
    servers: [{ id: 'open-1', region: 'eu-central', lat: 50.11, lon: 8.68, assets: ['demo-smpte'] }],
  });
  beforeAll(() => cluster.start(), 180_000);
  afterAll(() => cluster.stop());

  it("shows its operator views to this machine's direct requests only; media, posters and health stay public", async () => {
    const url = await httpUrlOf(cluster, 'open-1');
    // Direct from loopback: what tests, benches and a local Prometheus read today.
    expect((await get(`${url}/api/table`)).body).toContain('open-1');
    expect((await get(`${url}/api/status`)).body).toContain('"sessions"');
    expect((await get(`${url}/metrics`)).body).toContain('baton_server_');
    for (const path of OPERATOR_PATHS) {
      for (const headers of NOT_DIRECT) {
        const res = await get(`${url}${path}`, headers);
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(403);
        expect(res.body).toMatch(/this media server has no --operator-token/);
        for (const leak of ['open-1', 'baton_server_', 'sessions']) expect(res.body).not.toContain(leak);
      }
    }
    for (const headers of NOT_DIRECT) await expectPublic(url, headers);
  }, 120_000);
});

describe('review8 #9: a media server with --operator-token', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-server-views-'));
  const tokenFile = join(dir, 'operator-token');
  writeFileSync(tokenFile, `${OPERATOR_TOKEN}\n`);
  const cluster = new Cluster({
    rotationMs: 0,
    heartbeatMs: 500,
    servers: [
      {
        id: 'tok-1',
        region: 'eu-central',
        lat: 50.11,
        lon: 8.68,
        assets: ['demo-smpte'],
        extraArgs: ['--operator-token-file', tokenFile],
      },
      // The environment, as the hub's BATON_OPERATOR_TOKEN.
      { id: 'tok-2', region: 'us-east', lat: 38.95, lon: -77.45, assets: ['demo-smpte'], env: { BATON_OPERATOR_TOKEN: OPERATOR_TOKEN } },
    ],
  });
  beforeAll(() => cluster.start(), 180_000);
  afterAll(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks every request for the token, even from this machine; the public routes ask none', async () => {
    for (const id of ['tok-1', 'tok-2']) {
      const url = await httpUrlOf(cluster, id);
      for (const path of OPERATOR_PATHS) {
        const bare = await get(`${url}${path}`);
        expect(bare.status, `${id} ${path}`).toBe(401);
        expect(bare.body).toMatch(/operator token required/);
        for (const leak of [id, 'baton_server_', 'sessions']) expect(bare.body).not.toContain(leak);
        expect((await get(`${url}${path}`, { authorization: 'Bearer wrong-token-of-some-length' })).status).toBe(401);
        expect((await get(`${url}${path}`, { authorization: `Bearer ${OPERATOR_TOKEN}` })).status, `${id} ${path}`).toBe(200);
        // A scraper behind a proxy that forwards the token.
        const forwarded = await get(`${url}${path}?token=${OPERATOR_TOKEN}`, NOT_DIRECT[0]);
        expect(forwarded.status, `${id} ${path}?token=`).toBe(200);
      }
      expect((await get(`${url}/api/table`, { authorization: `Bearer ${OPERATOR_TOKEN}` })).body).toContain(id);
      await expectPublic(url, {});
      await expectPublic(url, NOT_DIRECT[0]!);
    }
  }, 120_000);

  it('a token under 16 bytes, or given twice, stops start-up with the reason', async () => {
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, [BATON, ...args], {
        cwd: ROOT,
        timeout: 30_000,
        env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.endsWith('_SECRET') && !k.endsWith('_TOKEN'))),
      }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
    const base = ['server', '--cluster-secret', SECRET, '--id', 'x', '--storage', dir];
    const short = await run([...base, '--operator-token', 'short']);
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/--operator-token must be at least 16 bytes/);
    const both = await run([...base, '--operator-token', OPERATOR_TOKEN, '--operator-token-file', tokenFile]);
    expect(both.stderr).toMatch(/give --operator-token or --operator-token-file, not both/);
  }, 60_000);
});
