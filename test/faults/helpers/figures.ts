// Records measured fault figures (flat keys, unit in each name) outside the tracked tree:
// $BATON_FIGURES_DIR/fault-figures.json, else test-artifacts/figures/. `npm run bench -- --only faults`
// runs this layer and turns the file into bench/results/faults.json with the run's provenance.
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { ROOT } from '../../helpers/cluster.js';

export const FIGURES_DIR = process.env.BATON_FIGURES_DIR ?? join(ROOT, 'test-artifacts/figures');
export const FIGURES_FILE = join(FIGURES_DIR, 'fault-figures.json');
const LOCK_FILE = `${FIGURES_FILE}.lock`;
/** Test files run in parallel workers; after this many tries (≈ 2 s) a lock is presumed stale. */
const LOCK_ATTEMPTS = 200;
const LOCK_RETRY_MS = 10;

/** One test file's figures from one test run: a later run of the file replaces them all. */
export interface FileFigures {
  /** When the test run started (set once per run by test/global-setup.ts), ms since the epoch. */
  run_started_ms: number;
  /** When the file last recorded a figure in that run. */
  recorded_at_ms: number;
  figures: Record<string, number>;
}

export interface FaultFigures {
  files: Record<string, FileFigures>;
}

/** The current test run's start, from global setup; a process outside a test run counts as its own run. */
const RUN_STARTED_MS = Number(process.env.BATON_TEST_RUN_STARTED_MS) || Date.now();

/**
 * Records `faults.<name>` = value for the calling test file. Several files may write at once,
 * so the read-modify-write is done under a lock file and the result renamed into place.
 */
export function recordFigure(name: string, value: number): void {
  const key = `faults.${name}`;
  const testPath = expect.getState().testPath;
  if (!testPath) throw new Error(`recordFigure(${name}) outside a test`);
  const file = relative(ROOT, testPath);
  mkdirSync(FIGURES_DIR, { recursive: true });
  withLock(() => {
    let all: FaultFigures = { files: {} };
    try {
      all = JSON.parse(readFileSync(FIGURES_FILE, 'utf8')) as FaultFigures;
      all.files ??= {};
    } catch {
      // Absent or half-written by an interrupted run: start over.
    }
    let entry = all.files[file];
    // A new run of this file: its figures from earlier runs go, so a renamed or dropped figure cannot linger.
    if (!entry || entry.run_started_ms !== RUN_STARTED_MS) entry = { run_started_ms: RUN_STARTED_MS, recorded_at_ms: 0, figures: {} };
    entry.figures[key] = Math.round(value * 1000) / 1000;
    entry.figures = Object.fromEntries(Object.entries(entry.figures).sort(([a], [b]) => a.localeCompare(b)));
    entry.recorded_at_ms = Date.now();
    all.files[file] = entry;
    const tmp = `${FIGURES_FILE}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(all, null, 2) + '\n');
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
