// Every process test file: when a test fails, the logs of the clusters running then (hub and servers, killed ones
// included) go to test-artifacts/logs/<file>/<test>/<process>.log, so a failure seen once in CI can be read after.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeEach } from 'vitest';
import { ROOT, runningClusters } from './helpers/cluster.js';

export const FAILURE_LOGS_DIR = join(ROOT, 'test-artifacts/logs');

/** A test's name as a directory name: letters, digits, '-' and '.', at most 80 characters. */
export function safeName(name: string): string {
  return (
    name
      .replace(/[^\w.-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80) || 'test'
  );
}

beforeEach(({ task, onTestFailed }) => {
  onTestFailed(() => {
    const dir = join(FAILURE_LOGS_DIR, basename(task.file.name, '.test.ts'), safeName(task.name));
    runningClusters().forEach((cluster, i) => {
      const into = runningClusters().length > 1 ? join(dir, `cluster-${i + 1}`) : dir;
      mkdirSync(into, { recursive: true });
      for (const [name, text] of cluster.logs()) writeFileSync(join(into, `${safeName(name)}.log`), text);
    });
  });
});
