// `abr.*` figures: the player's Auto mode in Chromium through a link cut to half the top rung's bitrate and restored
// (issue 14: 0 stalls after start-up, back on the top rung within 10 s of the restore), and how long the server's
// ffmpeg took to make the renditions of the clip.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import type { CatalogEntry } from '../signaling/protocol/messages.js';
import { DESKTOP, launchBrowser } from '../test/e2e/helpers/browser.js';
import { buildWebClient } from '../test/e2e/helpers/web-build.js';
import { runAbrScenario } from '../test/e2e/helpers/abr-scenario.js';
import { startCluster, waitFor } from '../test/helpers/cluster.js';
import { makeTestClip } from '../test/helpers/test-clip.js';
import type { Figures } from './results-store.js';

const ASSET = 'bench-abr';
/** Long enough for the climb, the cut (the buffer drains first) and the restore. */
const ASSET_S = 120;
/** The link stays cut this long once Auto left the top rung (ms); shorter in a quick run. */
const FULL_HOLD_MS = 20_000;
const QUICK_HOLD_MS = 10_000;

export async function benchAbr(opts: { quick: boolean }): Promise<Figures> {
  const storage = mkdtempSync(join(tmpdir(), 'baton-bench-abr-'));
  let browser: Browser | undefined;
  const cluster = await (async () => {
    makeTestClip(join(storage, `${ASSET}.webm`), { seconds: ASSET_S, size: '640x360', codec: 'libvpx-vp9', gop: 30, videoKbps: 500 });
    const staticDir = await buildWebClient();
    return startCluster({
      staticDir,
      servers: [{ id: 'fra-1', region: 'eu-central', lat: 50.11, lon: 8.68, storageDir: storage, assets: [], renditions: true }],
    });
  })();
  try {
    const t0 = Date.now();
    const entry = await waitFor(
      'the renditions in the catalog',
      async () => {
        const r = (await (await fetch(`${cluster.hubUrl}/api/catalog`)).json()) as { assets: CatalogEntry[] };
        const e = r.assets.find((a) => a.id === ASSET);
        return e?.renditions?.length === 2 ? e : undefined;
      },
      300_000,
      250,
    );
    const renditionsMs = Date.now() - t0;
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const run = await runAbrScenario(page, cluster.hubUrl, entry, 360, {
      holdMs: opts.quick ? QUICK_HOLD_MS : FULL_HOLD_MS,
      downWithinMs: 90_000,
      climbWithinMs: 60_000,
    });
    await context.close();
    return {
      'abr.asset_s': ASSET_S,
      'abr.renditions_ready_ms': renditionsMs,
      'abr.top_bitrate_bps': run.topBps,
      'abr.limit_bps': run.limitBps,
      'abr.first_climb_ms': run.firstClimbMs,
      'abr.down_ms': run.downMs,
      'abr.settled_bitrate_bps': run.settledBps ?? -1,
      'abr.stalls_after_start': run.stalls,
      'abr.climb_ms': run.climbMs,
      'abr.climb_shown_ms': run.shownMs,
    };
  } finally {
    await browser?.close();
    await cluster.stop();
    rmSync(storage, { recursive: true, force: true });
  }
}

// `node bin/run-ts.js bench/abr.ts [--quick]` runs this suite alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await benchAbr({ quick: process.argv.includes('--quick') });
  console.log(JSON.stringify(figures, null, 2));
}
