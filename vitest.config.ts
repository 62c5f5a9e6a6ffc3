import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// Test layers: unit, sim and fuzz are pure and fast (in-process, no timing-bound
// assertions) and always run in parallel. Integration, e2e and faults start real
// processes on loopback, so they get longer timeouts and, in CI, run one file at a
// time. Vitest 4 runs such a one-at-a-time project after every other project, never
// beside it, so CI (.ci/run) starts the pure project in a vitest of its own, beside
// the process files, rather than for its own 40 s before them.

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
      {
        test: {
          ...shared,
          name: 'processes',
          include: ['test/{integration,e2e,faults}/**/*.test.ts'],
          setupFiles: ['test/process-setup.ts'],
          fileParallelism: !process.env.CI,
        },
      },
    ],
  },
});
