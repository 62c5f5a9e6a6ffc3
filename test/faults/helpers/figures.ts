// Merges measured fault figures into bench/results/faults.json (flat keys, unit in each name).
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from '../../helpers/cluster.js';

export const FIGURES_FILE = join(ROOT, 'bench/results/faults.json');
const LOCK_FILE = `${FIGURES_FILE}.lock`;
/** Test files run in parallel workers; after this many tries (≈ 2 s) a lock is presumed stale. */
const LOCK_ATTEMPTS = 200;
const LOCK_RETRY_MS = 10;

/**
 * Records `faults.<name>` = value. Called from tests; several files may write at once,
 * so the read-modify-write is done under a lock file and the result renamed into place.
 */
export function recordFigure(name: string, value: number): void {
  const key = `faults.${name}`;
  mkdirSync(dirname(FIGURES_FILE), { recursive: true });
  withLock(() => {
    let figures: Record<string, number> = {};
    try {
      figures = JSON.parse(readFileSync(FIGURES_FILE, 'utf8')) as Record<string, number>;
    } catch {
      // Absent or half-written by an interrupted run: start over.
    }
    figures[key] = Math.round(value * 1000) / 1000;
    const sorted = Object.fromEntries(Object.entries(figures).sort(([a], [b]) => a.localeCompare(b)));
    const tmp = `${FIGURES_FILE}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(sorted, null, 2) + '\n');
    renameSync(tmp, FIGURES_FILE);
  });
}

function withLock(fn: () => void): void {
  for (let i = 0; i < LOCK_ATTEMPTS; i++) {
    let fd: number;
    try {
      fd = openSync(LOCK_FILE, 'wx');
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, LOCK_RETRY_MS);
      continue;
    }
    try {
      fn();
    } finally {
      closeSync(fd);
      rmSync(LOCK_FILE, { force: true });
    }
    return;
  }
  // Another writer died holding the lock: write anyway rather than lose the figure.
  rmSync(LOCK_FILE, { force: true });
  fn();
}
