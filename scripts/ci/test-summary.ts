// Counts a vitest JSON report for CI: passed and failed tests, where a test that was
// skipped or left as todo fails unless test/allowed-skips.txt gives it a reason.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/** The parts of vitest's JSON reporter output this reads. */
export interface VitestReport {
  numPassedTests?: number;
  numFailedTests?: number;
  testResults?: Array<{
    name: string;
    status: string;
    assertionResults?: Array<{
      status: string;
      fullName?: string;
      title: string;
      ancestorTitles?: string[];
      failureMessages?: string[];
    }>;
  }>;
}

/** One allowed skip: `file | full test name | reason`, the file relative to the repository root. */
export interface AllowedSkip {
  file: string;
  test: string;
  reason: string;
}

export interface TestSummary {
  passed: number;
  failed: number;
  /** Human-readable lines naming each failure: failed tests (with their message's first line), files that did not run, unexplained skips. */
  problems: string[];
}

export class AllowedSkipsError extends Error {
  readonly code = 'ERR_ALLOWED_SKIPS';
}

/** Parses the allow-list: one `file | test name | reason` per line; `#` starts a comment; a line without a reason is an error. */
export function parseAllowedSkips(text: string): AllowedSkip[] {
  const out: AllowedSkip[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const parts = line.split('|').map((p) => p.trim());
    if (parts.length !== 3 || parts.some((p) => p === '')) {
      throw new AllowedSkipsError(`allowed skips line ${i + 1}: expected "file | test name | reason", got ${JSON.stringify(raw)}`);
    }
    out.push({ file: parts[0]!, test: parts[1]!, reason: parts[2]! });
  });
  return out;
}

const SKIPPED = new Set(['skipped', 'pending', 'todo', 'disabled']);

/** Passed = passed tests; failed = failed tests + files that failed without a failed test + skips/todos not allowed. */
export function summarise(report: VitestReport, allowed: AllowedSkip[], root: string): TestSummary {
  const problems: string[] = [];
  let failed = report.numFailedTests ?? 0;
  for (const file of report.testResults ?? []) {
    const rel = relative(root, file.name);
    const results = file.assertionResults ?? [];
    // A file that failed without a failed test (it did not load, or a hook failed and its tests were skipped).
    if (file.status === 'failed' && !results.some((a) => a.status === 'failed')) {
      failed += 1;
      problems.push(`${rel}: the file failed without a failed test (did not load, or a hook failed)`);
      continue;
    }
    for (const a of results) {
      const name = a.fullName ?? [...(a.ancestorTitles ?? []), a.title].join(' ');
      if (a.status === 'failed') {
        // Named again at the end of the CI output, where a reader of its last lines sees it.
        const first = (a.failureMessages?.[0] ?? '').split('\n')[0]!.slice(0, 300);
        problems.push(`${rel}: "${name}" failed: ${first}`);
        continue;
      }
      if (!SKIPPED.has(a.status)) continue;
      if (allowed.some((s) => s.file === rel && s.test === name)) continue;
      failed += 1;
      problems.push(`${rel}: "${name}" was ${a.status} without a reason in test/allowed-skips.txt`);
    }
  }
  return { passed: report.numPassedTests ?? 0, failed, problems };
}

// CLI: `node bin/run-ts.js scripts/ci/test-summary.ts REPORT.json ALLOWED.txt` prints problems on stderr and "passed failed" on stdout.
if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const [reportPath, allowedPath] = process.argv.slice(2);
  let summary: TestSummary;
  try {
    const report = JSON.parse(readFileSync(reportPath!, 'utf8')) as VitestReport;
    summary = summarise(report, parseAllowedSkips(readFileSync(allowedPath!, 'utf8')), process.cwd());
  } catch (err) {
    console.error(`test summary: ${(err as Error).message}`);
    summary = { passed: 0, failed: 1, problems: [] };
  }
  for (const p of summary.problems) console.error(`  ${p}`);
  console.log(`${summary.passed} ${summary.failed}`);
}
