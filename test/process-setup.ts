// Every process test file: when a test fails, the output of every hub and server the file started (killed ones
// included) goes to test-artifacts/logs/<file>/<test>/<process>.log, so a failure seen once in CI can be read after.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeEach } from 'vitest';
import { ROOT, startedProcs } from './helpers/cluster.js';

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
    const procs = startedProcs();
    if (procs.length === 0) return;
    const dir = join(FAILURE_LOGS_DIR, basename(task.file.name, '.test.ts'), safeName(task.name));
    mkdirSync(dir, { recursive: true });
    for (const { name, proc } of procs) writeFileSync(join(dir, `${safeName(name)}.log`), proc.output());
  });
});
