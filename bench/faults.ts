// The `faults` suite: runs the fault-injection layer (test/faults, and the CI slice of test/fuzz) once, in a child vitest process
// whose figures go to a scratch directory, and returns the figures of the test files that passed.
// Nothing is read from an earlier run: each figure comes from this one.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FaultFigures } from '../test/faults/helpers/figures.js';

const ROOT = join(import.meta.dirname, '..');
const VITEST = join(ROOT, 'node_modules/vitest/vitest.mjs');

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  testResults: Array<{ name: string; status: string }>;
}

/** `faults.*` figures measured now by `vitest run test/faults`; `opts.quick` changes nothing (the layer has one size). */
export async function benchFaults(_opts: { quick: boolean }): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-faults-'));
  try {
    const report = join(dir, 'vitest.json');
    // One file at a time: the files measure timings, and on a shared machine they would measure each other.
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          VITEST,
          'run',
          'test/faults',
          'test/fuzz',
          '--no-file-parallelism',
          '--reporter=dot',
          '--reporter=json',
          `--outputFile.json=${report}`,
        ],
        {
          cwd: ROOT,
          env: { ...process.env, BATON_FIGURES_DIR: dir },
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
      child.once('error', reject);
      child.once('exit', (c) => resolve(c ?? 1));
    });
    let tests: VitestJson;
    let recorded: FaultFigures;
    try {
      tests = JSON.parse(readFileSync(report, 'utf8')) as VitestJson;
      recorded = JSON.parse(readFileSync(join(dir, 'fault-figures.json'), 'utf8')) as FaultFigures;
    } catch (err) {
      throw new Error(`the fault layer left no report or figures (vitest exit ${code})`, { cause: err });
    }
    // A file with a failed test may have recorded figures before it failed: they are not shown.
    const failedFiles = new Set(tests.testResults.filter((f) => f.status !== 'passed').map((f) => f.name.slice(ROOT.length + 1)));
    const out: Record<string, number> = {};
    for (const [file, entry] of Object.entries(recorded.files)) {
      if (!failedFiles.has(file)) Object.assign(out, entry.figures);
    }
    out['faults.tests_passed'] = tests.numPassedTests;
    out['faults.tests_failed'] = tests.numFailedTests;
    out['faults.files_failed'] = failedFiles.size;
    if (failedFiles.size) console.error(`faults: figures of ${[...failedFiles].join(', ')} left out (a test failed)`);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
