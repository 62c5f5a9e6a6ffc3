// `npm start` as a new user runs it: the whole network comes up, the dashboard shows it
// live, a viewer shows up as a decision and a filled cache, and Ctrl-C leaves nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { ROOT, waitFor } from '../helpers/cluster.js';
import { watchStream } from '../../node-app/delivery/node-viewer.js';
import { launchBrowser, openPage, screenshot } from './helpers/browser.js';

/** Pids of live processes whose command line mentions `needle`. */
function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

describe('npm start (Chromium)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-npm-start-'));
  let demo: ChildProcess;
  let out = '';
  let url = '';
  let browser: Browser | undefined;

  beforeAll(async () => {
    // Its own process group, like a terminal's foreground job, so Ctrl-C reaches all of it.
    demo = spawn('npm', ['start', '--', '--port', '0', '--data-dir', dataDir], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    demo.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    url = await waitFor('the URL npm start prints', () => out.match(/Open (http:\/\/\S+?)\/?\s/)?.[1], 90_000, 100);
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (demo.exitCode === null && demo.signalCode === null) process.kill(-demo.pid!, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows three servers and a director, and updates when a viewer starts', async () => {
    const { context, page } = await openPage(browser!);
    try {
      await page.goto(`${url}/#/dashboard`);
      await expect.poll(() => page.locator('baton-server-card').count(), { timeout: 20_000 }).toBe(3);
      await expect
        .poll(async () => (await page.locator('baton-director-panel [data-testid=director]').textContent()) ?? '', { timeout: 10_000 })
        .toMatch(/(fra|iad|sin)-1/);

      const watching = watchStream({ hubUrl: url, assetId: 'demo-smpte' }, () => {});
      const selections = page.locator('baton-decision-log [data-testid=selections] li');
      await expect.poll(() => selections.count(), { timeout: 20_000 }).toBeGreaterThan(0);
      expect(await selections.first().textContent()).toContain('demo-smpte');
      // The serving server's cache fills, and the dashboard's replica shows it.
      await expect
        .poll(() => page.locator('baton-server-card .chip', { hasText: 'demo-smpte' }).count(), { timeout: 20_000 })
        .toBeGreaterThan(0);
      await screenshot(page, 'npm-start-dashboard');
      const r = await watching;
      expect(r.bytes).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });

  it('stops every process it started on Ctrl-C', async () => {
    expect(processesMentioning(dataDir).length).toBeGreaterThanOrEqual(3); // the media servers' --storage is under it
    const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)));
    process.kill(-demo.pid!, 'SIGINT');
    await exited;
    await waitFor('no process left from npm start', () => processesMentioning(dataDir).length === 0, 15_000, 100);
  });
});
