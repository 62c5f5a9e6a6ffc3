// Operating Baton: Prometheus metrics that move, graceful SIGTERM hand-over, config validation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BATON, Cluster, MEDIA_DIR, THREE_SERVERS, waitFor } from '../helpers/cluster.js';
import { watchStream } from '../../node-app/delivery/node-viewer.js';
import { io } from 'socket.io-client';
import { namingProblems } from '../helpers/prometheus-naming.js';
import { scrape, sumSeries } from '../helpers/prometheus.js';

const run = promisify(execFile);

describe('operations', () => {
  // The viewer below asks for fast (unpaced) delivery: an operator setting of the servers.
  const cluster = new Cluster({
    rotationMs: 0,
    servers: THREE_SERVERS.map((s) => ({ ...s, extraArgs: ['--allow-fast'] })),
  });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('exposes Prometheus metrics on the hub and every server that move when a viewer watches', async () => {
    const hubBefore = await scrape(`${cluster.hubUrl}/metrics`);
    expect(hubBefore.get('baton_hub_servers')).toBe(3);
    const hubMetrics = async () => scrape(`${cluster.hubUrl}/metrics`);
    let during: Promise<Map<string, number>> | undefined;
    const r = await watchStream({ hubUrl: cluster.hubUrl, assetId: 'demo-smpte', fast: true }, () => {
      during ??= hubMetrics();
    });
    expect((await during!).get('baton_hub_sessions{kind="watch"}')).toBe(1);
    const hubAfter = await hubMetrics();
    expect(sumSeries(hubAfter, 'baton_hub_selections_total')).toBe(sumSeries(hubBefore, 'baton_hub_selections_total') + 1);
    await waitFor(
      'the hub to count the session closed',
      async () => (await hubMetrics()).get('baton_hub_sessions{kind="watch"}') === 0,
      10_000,
    );
    const server = (await cluster.state()).servers.find((s) => s.id === r.server)!;
    const m = await scrape(`${server.httpUrl}/metrics`);
    expect(m.get('baton_server_egress_bytes_total')).toBeGreaterThanOrEqual(r.bytes);
    expect(m.get('baton_server_storage_read_bytes_total')).toBeGreaterThan(0);
    expect(sumSeries(m, 'baton_server_cache_lookups_total')).toBeGreaterThan(0);
  });

  it('names every metric the Prometheus way: one prefix, no doubled word, units last, _total on counters', async () => {
    expect(namingProblems(await (await fetch(`${cluster.hubUrl}/metrics`)).text(), 'baton_hub_')).toEqual([]);
    for (const s of (await cluster.state()).servers) {
      expect(namingProblems(await (await fetch(`${s.httpUrl}/metrics`)).text(), 'baton_server_')).toEqual([]);
    }
  });

  it('a leave closes the session on its server, which does not report the close back', async () => {
    const hubMetrics = async () => scrape(`${cluster.hubUrl}/metrics`);
    const before = await hubMetrics();
    const client = io(`${cluster.hubUrl}/client`, { transports: ['websocket'], reconnection: false });
    try {
      const r = (await client.timeout(5_000).emitWithAck('watch', { assetId: 'demo-testsrc' })) as {
        ok: boolean;
        sessionId: string;
        server: { id: string };
      };
      expect(r.ok).toBe(true);
      const server = (await cluster.state()).servers.find((s) => s.id === r.server.id)!;
      const open = async () =>
        ((await (await fetch(`${server.httpUrl}/api/status`)).json()) as { sessionStats: { sessionId: string }[] }).sessionStats.some(
          (x) => x.sessionId === r.sessionId,
        );
      expect(await open()).toBe(true);
      client.emit('leave', { sessionId: r.sessionId });
      await waitFor('the server to close the session', async () => !(await open()), 10_000);
      await new Promise((res) => setTimeout(res, 300)); // an echo, if any, would have reached the hub by now
      const after = await hubMetrics();
      expect(sumSeries(after, 'baton_hub_rejected_messages_total')).toBe(sumSeries(before, 'baton_hub_rejected_messages_total'));
    } finally {
      client.close();
    }
  });

  it('hands a viewer over and leaves the table on SIGTERM', async () => {
    let victim: string | undefined;
    let stopped: Promise<number | null> | undefined;
    const total = readFileSync(join(MEDIA_DIR, 'demo-mandelbrot.webm')).length;
    const r = await watchStream({ hubUrl: cluster.hubUrl, assetId: 'demo-mandelbrot', timeoutMs: 90_000 }, (_b, viewer) => {
      if (!stopped && viewer.bytesReceived > total / 4) {
        victim = viewer.session!.server.id;
        stopped = cluster.kill(victim, 'SIGTERM');
      }
    });
    expect(await stopped).toBe(0); // a clean exit, not a crash
    expect(r.failovers[0]?.from).toBe(victim);
    expect(r.bytes).toBe(total);
    expect(r.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(join(MEDIA_DIR, 'demo-mandelbrot.webm')))
        .digest('hex'),
    );
    await waitFor('the server left the table', async () => !(await cluster.state()).servers.some((s) => s.id === victim));
  });

  it('stops start-up with a message naming a bad configuration value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-config-'));
    const cfg = join(dir, 'hub.json');
    writeFileSync(cfg, JSON.stringify({ clusterSecret: 'operations-test-secret', heartbeatMs: -5 }));
    const bad = await run(process.execPath, [BATON, 'hub', '--config', cfg]).then(
      () => null,
      (e) => e as { code: number; stderr: string },
    );
    expect(bad?.code).toBe(1);
    expect(bad?.stderr).toMatch(/heartbeatMs.*heartbeat-ms must be an integer/);
    const envBad = await run(
      process.execPath,
      [BATON, 'server', '--cluster-secret', 'operations-test-secret', '--id', 'x', '--storage', dir],
      { env: { ...process.env, BATON_CACHE_MB: 'lots' } },
    ).then(
      () => null,
      (e) => e as { code: number; stderr: string },
    );
    expect(envBad?.code).toBe(1);
    expect(envBad?.stderr).toMatch(/cache-mb/);
  });
});

describe('the director under join churn', () => {
  // Small uplinks: one reserved viewer of a demo clip is a few % of a server's load factor,
  // so reservations that were never replaced would turn every server away within a few dozen joins.
  const cluster = new Cluster({
    heartbeatMs: 200,
    rotationMs: 0,
    servers: THREE_SERVERS.map((s) => ({ ...s, extraArgs: ['--uplink-mbps', '40'] })),
  });
  beforeAll(async () => {
    await cluster.start();
  }, 120_000);
  afterAll(() => cluster.stop());

  it('counts each placed viewer only until its server reports again, even when sessions open and close between heartbeats', async () => {
    // Eight connections, each well inside the hub's per-connection burst (40 requests).
    const clients = Array.from({ length: 8 }, () => io(`${cluster.hubUrl}/client`, { transports: ['websocket'], reconnection: false }));
    try {
      const refused: string[] = [];
      for (let i = 0; i < 150; i++) {
        const client = clients[i % clients.length]!;
        const r = (await client.timeout(5_000).emitWithAck('watch', { assetId: 'demo-mandelbrot' })) as {
          ok: boolean;
          sessionId?: string;
          code?: string;
        };
        if (r.ok) client.emit('leave', { sessionId: r.sessionId });
        else refused.push(r.code ?? '?');
        await new Promise((res) => setTimeout(res, 15)); // ≈ 13 joins per heartbeat: far from what the servers can take
      }
      expect(refused).toEqual([]);
      // Once every server has reported since its last session, the director's replica shows no load left.
      const state = await cluster.state();
      const director = state.servers.find((s) => s.id === state.director?.id)!;
      await waitFor(
        'the director replica to drop its reservations',
        async () => {
          const table = (await (await fetch(`${director.httpUrl}/api/table`)).json()) as {
            servers: { id: string; load: { sessions: number } }[];
          };
          return table.servers.every((s) => s.load.sessions === 0);
        },
        10_000,
      );
    } finally {
      for (const c of clients) c.close();
    }
  }, 60_000);
});
