// Failover seen from the player: the serving server dies (or freezes, then thaws) mid-stream and playback carries on
// elsewhere, with a notice.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/cluster.js';
import { openPage, screenshot } from './helpers/browser.js';
import { type BrowserCluster, useBrowserCluster } from './helpers/browser-cluster.js';

/** A page playing the largest demo clip (servers pace delivery, so its bytes are still flowing when its server goes). */
async function playingMandelbrot(env: BrowserCluster) {
  const opened = await openPage(env.browser);
  const { page, errors } = opened;
  await page.goto(`${env.cluster.hubUrl}/#/watch?asset=demo-mandelbrot`);
  const video = page.locator('baton-player video');
  const currentTime = () => video.evaluate((v: HTMLVideoElement) => v.currentTime);
  await expect.poll(currentTime, { timeout: 30_000, interval: 250, message: `never played; ${errors.join('; ')}` }).toBeGreaterThan(1);
  const serverId = page.locator('baton-player [data-testid=server-id]');
  return { ...opened, currentTime, serverId, first: (await serverId.textContent())!.trim() };
}

describe('player failover (Chromium, hub + 3 servers)', () => {
  const env = useBrowserCluster();

  it('resumes on another server when the serving one is killed, and says so', async () => {
    const { context, page, currentTime, serverId, first } = await playingMandelbrot(env);
    try {
      await env.cluster.kill(first);
      const received = (await page.locator('baton-player [data-testid=bytes-received]').textContent()) ?? '';
      expect(received, 'the whole clip arrived before the kill; nothing left to fail over').not.toMatch(/^(\S+ \S+) of \1$/);

      const notice = page.locator('baton-player [data-testid=failover]');
      await notice.first().waitFor({ timeout: 20_000 });
      const text = (await notice.first().textContent()) ?? '';
      expect(text).toContain(first);
      expect(text).toMatch(/went away — resumed on \S+ at byte [\d,]+/);

      const second = (await serverId.textContent())!.trim();
      expect(second).not.toBe(first);
      expect(text).toContain(second);

      // Playback goes on past the moment of the failover.
      const at = await currentTime();
      await expect.poll(currentTime, { timeout: 20_000, interval: 250 }).toBeGreaterThan(at + 2);
      expect(await page.locator('baton-player [data-testid=player-error]').count()).toBe(0);
      await screenshot(page, 'player-failover');
    } finally {
      await context.close();
    }
  });

  // A frozen server (SIGSTOP) long enough for the hub to drop it, then thawed (SIGCONT): its return neither interrupts
  // the resumed playback nor sends the player a second stream (it ends with its count whole, "N of N", and no error).
  it('resumes on another server while the serving one is frozen; its thaw changes nothing for the player', async () => {
    const { context, page, serverId, first } = await playingMandelbrot(env);
    try {
      const frozen = env.cluster.servers.get(first)!;
      frozen.child.kill('SIGSTOP');
      try {
        const notice = page.locator('baton-player [data-testid=failover]');
        await notice.first().waitFor({ timeout: 30_000 });
        expect((await notice.first().textContent()) ?? '').toMatch(/went away — resumed on \S+ at byte [\d,]+/);
        await waitFor(
          'the hub dropping the frozen server',
          async () => !(await env.cluster.state()).servers.some((s) => s.id === first),
          30_000,
        );
      } finally {
        frozen.child.kill('SIGCONT');
      }
      const second = (await serverId.textContent())!.trim();
      expect(second).not.toBe(first);
      await waitFor(
        'the thawed server back in the table',
        async () => (await env.cluster.state()).servers.some((s) => s.id === first),
        30_000,
      );
      const received = page.locator('baton-player [data-testid=bytes-received]');
      const whole = (t: string | null) => /^(\S+ \S+) of \1$/.test(t ?? '');
      await expect.poll(async () => whole(await received.textContent()), { timeout: 60_000, interval: 500 }).toBe(true);
      expect((await serverId.textContent())!.trim()).toBe(second);
      expect(await page.locator('baton-player [data-testid=player-error]').count()).toBe(0);
      await screenshot(page, 'player-freeze');
    } finally {
      await context.close();
    }
  }, 180_000);
});
