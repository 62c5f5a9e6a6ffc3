// The dashboard past a few dozen servers: server cards come in pages. 60 scripted
// servers register with a real hub (sockets from this process, heartbeating), and
// real Chromium pages through them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { ask, connectServer } from '../faults/helpers/net.js';
import { openPage } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';
import { SERVERS_PER_PAGE } from '../../web-client/components/paging.js';

const SERVERS = 60;
const HEARTBEAT_MS = 1000;

describe('dashboard paging (Chromium, hub + 60 scripted servers)', () => {
  const env = useBrowserCluster({ servers: [], heartbeatMs: HEARTBEAT_MS, rotationMs: 0 });
  const sockets: Socket[] = [];
  let beat: NodeJS.Timeout | undefined;
  const id = (i: number) => `srv-${String(i).padStart(2, '0')}`;

  beforeAll(async () => {
    beat = setInterval(() => sockets.forEach((s) => s.emit('heartbeat', {})), HEARTBEAT_MS / 2);
    for (let i = 0; i < SERVERS; i++) {
      const s = await connectServer(env.cluster.hubUrl, id(i));
      sockets.push(s);
      const r = await ask(s, 'register', {
        id: id(i),
        region: 'lab',
        lat: -60 + 2 * i,
        lon: -170 + 5 * i,
        roles: ['edge'],
        maxSessions: 10,
        uplinkMbps: 100,
        load: { sessions: 0, egressMbps: 0, cpu: 0 },
        cache: [],
        storage: [],
        live: [],
      });
      expect(r).toMatchObject({ ok: true });
    }
  }, 60_000);
  afterAll(() => {
    clearInterval(beat);
    sockets.forEach((s) => s.close());
  });

  it(`shows ${SERVERS_PER_PAGE} server cards a page and pages through the rest`, async () => {
    expect((await env.cluster.state()).servers).toHaveLength(SERVERS);
    const { context, page } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/dashboard`);
      const cards = page.locator('baton-server-card');
      const label = page.locator('baton-dashboard [data-testid=page-label]');
      await expect.poll(() => label.textContent(), { timeout: 15_000 }).toBe(`servers 1–${SERVERS_PER_PAGE} of ${SERVERS} · page 1 of 2`);
      expect(await cards.count()).toBe(SERVERS_PER_PAGE);
      expect(await page.locator('baton-dashboard [data-testid=server-count]').textContent()).toBe(String(SERVERS));
      expect(await page.locator('baton-dashboard [data-testid=prev-page]').isDisabled()).toBe(true);
      await page.locator('baton-dashboard [data-testid=next-page]').click();
      await expect.poll(() => cards.count()).toBe(SERVERS - SERVERS_PER_PAGE);
      expect(await label.textContent()).toBe(`servers ${SERVERS_PER_PAGE + 1}–${SERVERS} of ${SERVERS} · page 2 of 2`);
      expect(await page.locator('baton-server-card', { hasText: id(SERVERS - 1) }).count()).toBe(1);
      expect(await page.locator('baton-dashboard [data-testid=next-page]').isDisabled()).toBe(true);
      await page.locator('baton-dashboard [data-testid=prev-page]').click();
      await expect.poll(() => cards.count()).toBe(SERVERS_PER_PAGE);
    } finally {
      await context.close();
    }
  });
});
