import { describe, expect, it } from 'vitest';
import { AllowedSkipsError, parseAllowedSkips, summarise, type VitestReport } from '../../scripts/ci/test-summary.js';

const ROOT = '/repo';
const report: VitestReport = {
  numPassedTests: 3,
  numFailedTests: 1,
  testResults: [
    {
      name: '/repo/test/unit/a.test.ts',
      status: 'failed',
      assertionResults: [
        { status: 'passed', title: 'ok', ancestorTitles: ['a'], fullName: 'a ok' },
        {
          status: 'failed',
          title: 'bad',
          ancestorTitles: ['a'],
          fullName: 'a bad',
          failureMessages: ['AssertionError: expected 1 to be 2\n    at test/unit/a.test.ts:3:4'],
        },
        { status: 'skipped', title: 'later', ancestorTitles: ['a'], fullName: 'a later' },
        { status: 'todo', title: 'some day', ancestorTitles: ['a'], fullName: 'a some day' },
      ],
    },
    { name: '/repo/test/unit/broken.test.ts', status: 'failed', assertionResults: [] },
    { name: '/repo/test/unit/b.test.ts', status: 'passed', assertionResults: [{ status: 'passed', title: 'x', fullName: 'x' }] },
  ],
};

describe('CI test summary', () => {
  it('names every failed test with the first line of its message, fails every skipped or todo test that the allow-list does not name, and every file that failed without a failed test', () => {
    const s = summarise(report, [], ROOT);
    expect(s.passed).toBe(3);
    // 1 failed test + 1 broken file + 1 skipped + 1 todo
    expect(s.failed).toBe(4);
    expect(s.problems).toEqual([
      'test/unit/a.test.ts: "a bad" failed: AssertionError: expected 1 to be 2',
      'test/unit/a.test.ts: "a later" was skipped without a reason in test/allowed-skips.txt',
      'test/unit/a.test.ts: "a some day" was todo without a reason in test/allowed-skips.txt',
      'test/unit/broken.test.ts: the file failed without a failed test (did not load, or a hook failed)',
    ]);
  });

  it('lets a skip through only when its file and full name are listed with a reason', () => {
    const allowed = parseAllowedSkips(
      '# header\ntest/unit/a.test.ts | a later | needs a GPU\n\ntest/unit/other.test.ts | a some day | wrong file\n',
    );
    expect(allowed).toEqual([
      { file: 'test/unit/a.test.ts', test: 'a later', reason: 'needs a GPU' },
      { file: 'test/unit/other.test.ts', test: 'a some day', reason: 'wrong file' },
    ]);
    const s = summarise(report, allowed, ROOT);
    expect(s.failed).toBe(3);
    expect(s.problems.some((p) => p.includes('"a later"'))).toBe(false);
    expect(s.problems.some((p) => p.includes('"a some day"'))).toBe(true);
  });

  it('refuses an allow-list line without a reason', () => {
    expect(() => parseAllowedSkips('test/unit/a.test.ts | a later |\n')).toThrow(AllowedSkipsError);
    expect(() => parseAllowedSkips('test/unit/a.test.ts | a later\n')).toThrow(/line 1/);
  });
});
