// The media server's /metrics when a metric's collector throws: a 500 with a reason, and the server goes on.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gauge, Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { startStatusHttp } from '../../node-app/server/status-http.js';
import { DiskStore } from '../../node-app/storage/disk-store.js';

it('answers 500 when a collector throws, and serves the next request', async () => {
  const registry = new Registry();
  new Gauge({
    name: 'test_broken',
    help: 'a collector that throws',
    registers: [registry],
    collect() {
      throw new Error('broken collector');
    },
  });
  const http = await startStatusHttp({
    store: await DiskStore.open(mkdtempSync(join(tmpdir(), 'baton-metrics-'))),
    livePoster: () => undefined,
    registry,
    table: () => ({}) as never,
    status: () => ({}),
  });
  try {
    // Before, the rejection went unhandled (it ends a Node process) and the request was never answered.
    const r = await fetch(`${http.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    expect(r.status).toBe(500);
    expect(await r.json()).toEqual({ error: 'metrics unavailable' });
    expect((await fetch(`${http.url}/healthz`)).status).toBe(200);
  } finally {
    await http.close();
  }
});
