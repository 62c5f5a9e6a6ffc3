import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FaultFigures } from '../faults/helpers/figures.js';

const THIS_FILE = 'test/unit/fault-figures.test.ts';
let dir: string | undefined;
afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('fault figures', () => {
  it('go outside the tracked tree, per test file, and a new run of a file replaces all its earlier figures', async () => {
    dir = mkdtempSync(join(tmpdir(), 'baton-fault-figures-'));
    vi.stubEnv('BATON_FIGURES_DIR', dir);
    const runStartedMs = Number(process.env.BATON_TEST_RUN_STARTED_MS);
    expect(runStartedMs).toBeGreaterThan(0); // set by test/global-setup.ts for the whole run
    const earlier: FaultFigures = {
      files: {
        [THIS_FILE]: {
          run_started_ms: runStartedMs - 60_000,
          recorded_at_ms: runStartedMs - 59_000,
          figures: { 'faults.renamed_since.ms': 1, 'faults.unit.x_ms': 5 },
        },
        'test/faults/other.test.ts': {
          run_started_ms: runStartedMs - 60_000,
          recorded_at_ms: runStartedMs - 59_000,
          figures: { 'faults.other.y': 2 },
        },
      },
    };
    writeFileSync(join(dir, 'fault-figures.json'), JSON.stringify(earlier));

    const { recordFigure, FIGURES_FILE } = await import('../faults/helpers/figures.js');
    expect(FIGURES_FILE).toBe(join(dir, 'fault-figures.json'));
    const before = Date.now();
    recordFigure('unit.x_ms', 7.25);
    recordFigure('unit.y', 3);

    const now = JSON.parse(readFileSync(FIGURES_FILE, 'utf8')) as FaultFigures;
    expect(now.files[THIS_FILE]).toMatchObject({ run_started_ms: runStartedMs, figures: { 'faults.unit.x_ms': 7.25, 'faults.unit.y': 3 } });
    expect(Object.keys(now.files[THIS_FILE]!.figures)).toEqual(['faults.unit.x_ms', 'faults.unit.y']);
    expect(now.files[THIS_FILE]!.recorded_at_ms).toBeGreaterThanOrEqual(before);
    // Another file's figures wait for that file's next run.
    expect(now.files['test/faults/other.test.ts']).toEqual(earlier.files['test/faults/other.test.ts']);
  });
});
