import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// Test layers: unit, sim and fuzz are pure and fast (in-process, no timing-bound
// assertions) and always run in parallel. Integration, e2e and faults start real
// processes on loopback, so they get longer timeouts and, in CI, run one file at a
// time in each of two lanes (projects): `heavy`, the files that keep a browser, an
// encoder or a swarm of viewers busy, and `processes`, the rest. Two heavy files at
// once starve each other's real-time deadlines on 2 cores (CI of 2 files at a time
// without lanes: a Chromium seek beside a GStreamer publish, 100 vanishing viewers
// beside a Chromium player, renditions being encoded beside Vite's HMR — each failed);
// a heavy file beside a light one leaves the CPU idle a third of the time.
// Vitest 4 runs a one-at-a-time project after every other project, never beside it,
// so CI (.ci/run) starts each lane, and the pure project, in a vitest of its own.

/**
 * The heavy lane: Chromium (every e2e file, the peers smoke test), GStreamer publishers (WHIP, WHEP), ffmpeg encoding
 * clips before its cluster starts, 100 viewer processes; and two long cluster files, so the lanes take about the same
 * time (≈ 15 min each in CI, 2026-12-06). A new file goes to the `processes` lane unless it is listed here.
 */
const HEAVY = [
  'test/e2e/**/*.test.ts',
  'test/integration/{peers-smoke,whip-ingest,whip-h264,whep-play,multi-hub-whip-resume,cache-small-budget}.test.ts',
  'test/faults/flood-and-vanish.test.ts',
  'test/integration/{multi-hub,storage-change}.test.ts',
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
        { name: 'processes', include: ['test/{integration,e2e,faults}/**/*.test.ts'], exclude: HEAVY },
        { name: 'heavy', include: HEAVY, exclude: [] },
      ].map(({ name, include, exclude }) => ({
        test: {
          ...shared,
          name,
          include,
          exclude: ['**/node_modules/**', ...exclude],
          setupFiles: ['test/process-setup.ts'],
          fileParallelism: !process.env.CI,
        },
      })),
    ],
  },
});
