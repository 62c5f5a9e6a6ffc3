import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// Test layers: unit, sim and fuzz are pure and fast (in-process, no timing-bound
// assertions) and always run in parallel. Integration, e2e and faults start real
// processes on loopback, so they get longer timeouts and, in CI, run one file at a
// time, in two lanes (projects): `processes`, then `heavy`, the files that keep a
// browser, an encoder or a swarm of viewers busy. The lanes side by side took
// ≈ 17 min instead of ≈ 29, but two heavy files at once starve each other's
// real-time deadlines on 2 cores (a Chromium seek beside a GStreamer publish, 100
// vanishing viewers beside a Chromium player), and a heavy file beside a light one
// still missed one deadline or another in each of five CI runs (2026-12-06): CI
// (.ci/run) runs them one after the other, each in a vitest of its own (Vitest 4
// runs a one-at-a-time project after every other project, never beside it).
// Within the `processes` lane two files run at once: its files mostly wait (heartbeats,
// timeouts, paced streams; load ≈ 1–2 with one at a time), and two side by side took the
// lane from 729 s to 424 s (2026-12-07). The `heavy` lane stays one file at a time.

/**
 * The heavy lane: Chromium (every e2e file, the peers smoke test), GStreamer publishers (WHIP, WHEP), 100 viewer
 * processes. A new file goes to the `processes` lane unless it is listed here. Three files that only wait were here
 * while the lanes ran side by side (to even them out) or for a quick ffmpeg encode: multi-hub, storage-change and
 * cache-small-budget use 0.46, 0.72 and 0.24 of a core over their run (CPU-s / wall-s, 2026-12-07), like the
 * `processes` files beside which they now run, and the heavy lane, one file at a time, is the longer of the two.
 */
const HEAVY = [
  'test/e2e/**/*.test.ts',
  'test/integration/{peers-smoke,whip-ingest,whip-h264,whep-play,multi-hub-whip-resume}.test.ts',
  'test/faults/flood-and-vanish.test.ts',
];

// One mediabunny in a unit test's process: its CommonJS build, the one the media server loads (werift-rtp's `extra`,
// the WHIP muxer's toolkit, requires it, and so does the WHEP reader). A test that also imports the ES build (itself,
// or through the player's H.264 remux) held two copies, and mediabunny printed "loaded twice".
const mediabunny = { find: /^mediabunny$/, replacement: createRequire(import.meta.url).resolve('mediabunny') };

const shared = {
  globalSetup: ['test/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      { test: { ...shared, name: 'pure', include: ['test/{unit,sim,fuzz}/**/*.test.ts'], alias: [mediabunny] } },
      ...[
        { name: 'processes', include: ['test/{integration,e2e,faults}/**/*.test.ts'], exclude: HEAVY, oneAtATime: false },
        { name: 'heavy', include: HEAVY, exclude: [], oneAtATime: true },
      ].map(({ name, include, exclude, oneAtATime }) => ({
        test: {
          ...shared,
          name,
          include,
          exclude: ['**/node_modules/**', ...exclude],
          setupFiles: ['test/process-setup.ts'],
          fileParallelism: !(process.env.CI && oneAtATime),
        },
      })),
    ],
  },
});
