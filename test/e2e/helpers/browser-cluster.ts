// The setup every browser suite shares: the built web client served by a real hub + servers, and one Chromium.
import { afterAll, beforeAll } from 'vitest';
import type { Browser } from 'playwright-core';
import { startCluster, type Cluster, type ClusterOptions } from '../../helpers/cluster.js';
import { launchBrowser } from './browser.js';
import { buildWebClient } from './web-build.js';

export interface BrowserCluster {
  readonly cluster: Cluster;
  readonly browser: Browser;
}

/**
 * Registers the suite's beforeAll/afterAll: builds the web client, starts a
 * cluster serving it (`opts` as for `startCluster`), launches Chromium with
 * `browserArgs`; stops both after the suite. Read the fields inside tests.
 */
export function useBrowserCluster(opts: Omit<ClusterOptions, 'staticDir'> = {}, browserArgs: string[] = []): BrowserCluster {
  let cluster: Cluster | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    // Chromium starts while the cluster does. Both settle before the hook ends, so when one fails, the other is
    // already in its variable for afterAll to stop (Promise.all would end the hook while it was still starting).
    const started = await Promise.allSettled([
      buildWebClient().then(async (staticDir) => {
        cluster = await startCluster({ ...opts, staticDir });
      }),
      launchBrowser(browserArgs).then((b) => {
        browser = b;
      }),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });
  return {
    get cluster() {
      if (!cluster) throw new Error('the cluster is not started (use it inside a test)');
      return cluster;
    },
    get browser() {
      if (!browser) throw new Error('the browser is not launched (use it inside a test)');
      return browser;
    },
  };
}
