// The peers benchmark's peers (bench/peers/): each starts with its own config, serves one Chromium viewer
// a frame (and, for the live ones, one headless Node viewer its media), and stops leaving nothing behind.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../e2e/helpers/browser.js';
import { startPageServer, type PageServer } from '../../bench/peers/pages.js';
import { portRange } from '../../bench/peers/ports.js';
import { PEER_FACTORIES } from '../../bench/peers/registry.js';
import { BROWSER_ARGS } from '../../bench/peers/peer.js';
import { viewerSample } from '../../bench/peers/sample.js';

const FIRST_FRAME_TIMEOUT_MS = 90_000;
const listNetns = () => execFileSync('ip', ['netns', 'list']).toString();
const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('peers benchmark: each peer starts, serves one viewer, stops', () => {
  let browser: Browser;
  let pages: PageServer;
  const tmp = mkdtempSync(join(tmpdir(), 'peers-smoke-'));
  beforeAll(async () => {
    browser = await launchBrowser([...BROWSER_ARGS]);
    pages = await startPageServer();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await pages?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const factory of PEER_FACTORIES) {
    const missing = factory.unavailable();
    // Skipped only where the peer's package is missing (CI installs janus, nginx-light, libnginx-mod-rtmp).
    it.skipIf(missing !== null)(
      `${factory.name}${missing ? ` (skipped: ${missing})` : ''}`,
      async () => {
        const netnsBefore = listNetns();
        const peer = await factory.start({
          // A live-only peer (WHIP's clock) starts on its clock feed.
          feed: factory.feeds.includes('file') ? 'file' : 'clock',
          tmpDir: join(tmp, factory.name),
          ports: await portRange(),
          pagesBase: pages.base,
          browser,
        });
        let pids: number[] = [];
        try {
          pids = peer.serverPids();
          expect(pids.length).toBeGreaterThan(0);
          // A functional check, not a timing: the first page of a cold Chromium compiles Baton's app and sets up
          // codecs, which took 11–25 s on this shared machine at load 25 (the bench discards that warm-up page).
          const s = await viewerSample(browser, peer.viewerUrl(), undefined, FIRST_FRAME_TIMEOUT_MS);
          expect(s.frameMs).toBeGreaterThan(0);
          if (factory.name !== 'http') {
            const v = await peer.startNodeViewer();
            try {
              await expect
                .poll(() => v.bytes(), { timeout: 20_000, message: `${factory.name}: the Node viewer received no media` })
                .toBeGreaterThan(10_000);
            } finally {
              await v.close();
            }
          }
        } finally {
          await peer.stop();
        }
        for (const pid of pids)
          await expect
            .poll(() => pidAlive(pid), { timeout: 10_000, message: `${factory.name}: server pid ${pid} outlived stop()` })
            .toBe(false);
        expect(listNetns()).toBe(netnsBefore);
      },
      180_000,
    );
  }
});
