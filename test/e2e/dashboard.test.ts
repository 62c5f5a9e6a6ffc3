// The dashboard in real Chromium against a real cluster: servers, the director, and decisions as they happen.
import { existsSync, renameSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PHONE, openPage, screenshot } from './helpers/browser.js';
import { useBrowserCluster } from './helpers/browser-cluster.js';
import type { DecisionEvent } from '../../signaling/protocol/index.js';

/** Short, so that a rotation happens while the test watches. */
const ROTATION_MS = 4_000;

describe('dashboard (Chromium, hub + 3 servers)', () => {
  const env = useBrowserCluster({ rotationMs: ROTATION_MS });

  it('shows the three servers, where they are, and the director on duty', async () => {
    const { context, page } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/dashboard`);
      await expect.poll(() => page.locator('baton-server-card').count(), { timeout: 15_000 }).toBe(3);
      for (const id of ['fra-1', 'iad-1', 'sin-1']) {
        await expect.poll(() => page.locator('baton-server-card', { hasText: id }).count()).toBe(1);
      }
      expect(await page.locator('baton-world-map svg circle.server').count()).toBe(3);

      // The director rotates every few seconds: compare with the hub's answer until both agree.
      const panel = page.locator('baton-director-panel [data-testid=director]');
      await expect
        .poll(
          async () => {
            const { director } = await env.cluster.state();
            const text = (await panel.textContent()) ?? '';
            return director !== null && text.includes(director.id) && text.includes(`epoch ${director.epoch} `);
          },
          { timeout: 10_000 },
        )
        .toBe(true);
    } finally {
      await context.close();
    }
  });

  it('records each rotation of the director with its reason', async () => {
    const { context, page } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/dashboard`);
      const tenures = page.locator('baton-director-panel li');
      // At least two rotations while the page is open (three tenures).
      await expect.poll(() => tenures.count(), { timeout: ROTATION_MS * 4 }).toBeGreaterThanOrEqual(3);
      const shown = async () =>
        (
          await Promise.all(
            (
              await tenures.all()
            ).map(async (li) => ({
              epoch: Number(/epoch (\d+)/.exec((await li.locator('.epoch').textContent()) ?? '')?.[1]),
              id: (await li.locator('.mono').allTextContents()).join('').trim(),
              reason: (await li.locator('.why').allTextContents()).join('').trim(),
            })),
          )
        ).filter((t) => Number.isFinite(t.epoch));
      // Every tenure the panel lists is one the hub recorded — same epoch, director and reason, newest
      // first — and none the hub recorded in that span of epochs is missing.
      const mismatch = async () => {
        const rows = await shown();
        const { decisions } = (await (await fetch(`${env.cluster.hubUrl}/api/decisions`)).json()) as { decisions: DecisionEvent[] };
        const lo = Math.min(...rows.map((r) => r.epoch));
        const hi = Math.max(...rows.map((r) => r.epoch));
        const expected = decisions
          .flatMap((d) =>
            d.kind === 'director' && d.director && d.director.epoch >= lo && d.director.epoch <= hi
              ? [{ epoch: d.director.epoch, id: d.director.id, reason: d.reason }]
              : [],
          )
          .sort((a, b) => b.epoch - a.epoch);
        return rows.length >= 3 && JSON.stringify(rows) === JSON.stringify(expected) ? 'match' : { rows, expected };
      };
      await expect.poll(mismatch, { timeout: 10_000 }).toBe('match');
      expect((await shown()).every((t) => t.reason !== '')).toBe(true);
      // The newest is the director on duty.
      const current = page.locator('baton-director-panel [data-testid=director]');
      await expect.poll(async () => ((await current.textContent()) ?? '').includes(`epoch ${(await shown())[0]!.epoch} `)).toBe(true);
    } finally {
      await context.close();
    }
  });

  it('marks an ingest server whose storage takes no new file, and clears the mark when it does again', async () => {
    const { context, page, errors } = await openPage(env.browser);
    const storage = env.cluster.servers.get('sin-1')!.storage;
    try {
      await page.goto(`${env.cluster.hubUrl}/#/dashboard`);
      const card = page.locator('baton-server-card').filter({ hasText: 'sin-1' });
      await card.waitFor({ timeout: 15_000 });
      const mark = card.locator('[data-testid=storage-refuses]');
      expect(await mark.count()).toBe(0);
      // The directory gone is what a full or unmounted disk looks like to the server's check (root ignores read-only).
      renameSync(storage, `${storage}.away`);
      await mark.waitFor({ timeout: 15_000, state: 'visible' }).catch((e: Error) => {
        throw new Error(`${e.message}; ${errors.join('; ')}`);
      });
      expect(await mark.getAttribute('title')).toMatch(/no broadcast/);
      await screenshot(page, 'dashboard-storage-full');
      renameSync(`${storage}.away`, storage);
      await mark.waitFor({ timeout: 15_000, state: 'detached' });
    } finally {
      if (existsSync(`${storage}.away`)) renameSync(`${storage}.away`, storage);
      await context.close();
    }
  });

  it('shows the selection decision when a viewer starts watching', async () => {
    const dash = await openPage(env.browser);
    const viewer = await openPage(env.browser);
    try {
      await dash.page.goto(`${env.cluster.hubUrl}/#/dashboard`);
      await expect.poll(() => dash.page.locator('baton-server-card').count(), { timeout: 15_000 }).toBe(3);

      await viewer.page.goto(`${env.cluster.hubUrl}/#/watch?asset=demo-testsrc`);
      const chosen = viewer.page.locator('baton-player [data-testid=server-id]');
      await chosen.waitFor({ timeout: 20_000 });
      const serverId = (await chosen.textContent())!.trim();

      const selections = dash.page.locator('baton-decision-log [data-testid=selections] li');
      await expect.poll(() => selections.count(), { timeout: 15_000 }).toBeGreaterThan(0);
      const latest = (await selections.first().textContent()) ?? '';
      expect(latest).toContain('demo-testsrc');
      expect(latest).toContain(serverId);

      // Playing a while lets the load samples and the session count move before the screenshot.
      const video = viewer.page.locator('baton-player video');
      await expect
        .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 30_000, interval: 250 })
        .toBeGreaterThan(1);
      await screenshot(dash.page, 'dashboard-desktop');

      await dash.page.setViewportSize(PHONE);
      const overflow = await dash.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(dash.page, 'dashboard-phone');
    } finally {
      await viewer.context.close();
      await dash.context.close();
    }
  });

  // Last: it kills sin-1.
  it('says which server left the cluster, when and why, after its card is gone', async () => {
    const { context, page } = await openPage(env.browser);
    try {
      await page.goto(`${env.cluster.hubUrl}/#/dashboard`);
      await expect.poll(() => page.locator('baton-server-card').count(), { timeout: 15_000 }).toBe(3);
      await env.cluster.kill('sin-1');
      await expect.poll(() => page.locator('baton-server-card').count(), { timeout: 20_000 }).toBe(2);
      const departures = page.locator('[data-testid=departures] li');
      await expect.poll(() => departures.allTextContents(), { timeout: 5_000 }).toHaveLength(1);
      expect((await departures.first().textContent())!.replace(/\s+/g, ' ')).toMatch(
        /sin-1 ap-southeast left the cluster at \d\d:\d\d:\d\d — (no heartbeat|its connection closed)/,
      );
      await screenshot(page, 'dashboard-server-left');
    } finally {
      await context.close();
    }
  });
});
