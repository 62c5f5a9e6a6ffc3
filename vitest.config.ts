import { defineConfig } from 'vitest/config';

// Test layers: unit and sim are pure and fast; integration and e2e start real
// processes on loopback, so they get longer timeouts and run one file at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: !process.env.CI,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
