// The dashboard of a cluster with two hubs on Redis, in real Chromium: when the hub that served the page dies, the
// dashboard moves to the other hub, and its hub list comes from there too (not "Failed to fetch" beside a dead hub).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Proc } from '../helpers/cluster.js';
import { type HubProc, startHubServer, startRedisHub, stopAll } from '../helpers/redis-hubs.js';
import { startRedis, type RedisProcess } from '../helpers/redis-process.js';
import { launchBrowser, openPage, screenshot } from './helpers/browser.js';
import { buildWebClient } from './helpers/web-build.js';

describe('dashboard when its hub dies (Chromium, 2 hubs on Redis, 1 server)', () => {
  let redis: RedisProcess | undefined;
  let browser: Browser | undefined;
  const procs: Proc[] = [];
  let a: HubProc;
  let b: HubProc;
  const storage = mkdtempSync(join(tmpdir(), 'baton-dash-failover-'));

  beforeAll(async () => {
    const staticDir = await buildWebClient();
    redis = await startRedis();
    a = await startRedisHub(redis.url, 'hub-a', ['--static-dir', staticDir]);
    b = await startRedisHub(redis.url, 'hub-b', ['--static-dir', staticDir]);
    procs.push(a, b, await startHubServer([b.url, a.url], 'srv-1', storage));
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await stopAll(procs);
    await redis?.stop();
    rmSync(storage, { recursive: true, force: true });
  });

  it('lists the hubs from the hub it moved to', async () => {
    const { context, page, errors } = await openPage(browser!);
    try {
      await page.goto(`${a.url}/#/dashboard`);
      const list = page.locator('baton-hub-list');
      const ids = () => list.locator('[data-testid=hub-list] tbody td:first-child').allTextContents();
      await expect.poll(ids, { timeout: 30_000, message: errors.join('; ') }).toEqual(['hub-a', 'hub-b']);
      a.child.kill('SIGKILL');
      // hub-a's entry expires with it (a liveness timeout); the page's socket reconnects to hub-b meanwhile.
      await expect.poll(ids, { timeout: 30_000, interval: 500 }).toEqual(['hub-b']);
      expect(await list.locator('[role=alert]').count()).toBe(0);
      await screenshot(page, 'dashboard-hub-failover');
    } finally {
      await context.close();
    }
  }, 90_000);
});
