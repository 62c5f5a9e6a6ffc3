import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatNumber, renderTemplate } from '../../bench/report-format.js';
import { README_FILE, ReportError, buildReport, figureSets, replaceBlock } from '../../bench/report.js';
import { unreachableBound } from '../../bench/targets.js';
import {
  ResultsFileError,
  provenance,
  readAllResults,
  resultsFile,
  writeSuiteResults,
  type SuiteResults,
} from '../../bench/results-store.js';

const dirs: string[] = [];
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), 'baton-report-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const suite = (name: string, mode: 'quick' | 'full', figures: SuiteResults['figures']): SuiteResults => ({
  suite: name,
  provenance: provenance(mode, `npm run bench -- --only ${name}`, Date.UTC(2026, 11, 3)),
  seconds: 1,
  figures,
});

describe('figure templates', () => {
  it('formats numbers the way the tables show them', () => {
    expect(formatNumber(3499)).toBe('3,499');
    expect(formatNumber(0.7037)).toBe('0.704');
    expect(formatNumber(9.078e-7)).toBe('9.1 × 10⁻⁷');
    expect(formatNumber(0.965, 'pct')).toBe('96.5 %');
    expect(formatNumber(1507121.4, 'int')).toBe('1,507,121');
    expect(formatNumber(0.0877, '2')).toBe('0.09');
  });

  it('fills figures from the quick or the full run, drops optional parts whose figures are missing, and names what is missing', () => {
    const sets = { quick: { 'a.x': 1.234, 'a.n': 20 }, full: { 'a.x': 1.5 } };
    expect(renderTemplate('{a.x}[[; full: {full:a.x}]] on {a.n:int}', sets)).toEqual({ text: '1.23; full: 1.5 on 20', missing: [] });
    expect(renderTemplate('{a.x}[[; 1m: {full:a.y}]]', sets)).toEqual({ text: '1.23', missing: [] });
    expect(renderTemplate('{a.x} and {a.y}', sets)).toEqual({ text: '1.23 and n/a', missing: ['a.y'] });
  });
});

describe('the report', () => {
  it('replaces exactly one marked block and refuses a README without it', () => {
    const doc = 'a\n<!-- figures:performance -->\nold\n<!-- /figures:performance -->\nb\n';
    expect(replaceBlock(doc, 'performance', 'new')).toBe('a\n<!-- figures:performance -->\nnew\n<!-- /figures:performance -->\nb\n');
    expect(() => replaceBlock('no markers', 'performance', 'x')).toThrow(ReportError);
  });

  it('renders each figure from its results file, bold when it misses its target, with the run that measured it', () => {
    const results = new Map([
      ['director:quick', suite('director', 'quick', { 'director.decision_us_p50': 12.5 })],
      ['hub:quick', suite('hub', 'quick', { 'hub.joins_per_s': 2999, 'hub.join_p99_ms': 3.86 })],
      ['hub:full', suite('hub', 'full', { 'hub.joins_per_s': 3499, 'hub.join_p99_ms': 6.2 })],
    ]);
    const readme =
      '<!-- figures:performance -->\n<!-- /figures:performance -->\n<!-- figures:reliability -->\n<!-- /figures:reliability -->\n';
    const { readme: out, missing } = buildReport(results, readme);
    expect(out).toContain('| **12.5 µs p50** | ≤ 10 |');
    expect(out).toContain('2,999 (p99 3.86 ms); full ladder: 3,499 (p99 6.2 ms)');
    expect(out).toContain('- `hub`: full, 2026-12-03 00:00 UTC');
    expect(out).toContain('not measured');
    expect(missing).toContain('ttff.p50_ms');
  });

  it('says a target cannot be met when the same run measured an offline bound beyond it, and only then', () => {
    const key = 'cache.storage_read_ratio_vs_nocache.zipf10';
    const bound = 'cache.offline_bound_ratio_vs_nocache.zipf10.pct5';
    const render = (figures: SuiteResults['figures']) =>
      buildReport(
        new Map([['cache:quick', suite('cache', 'quick', figures)]]),
        '<!-- figures:performance -->\n<!-- /figures:performance -->\n<!-- figures:reliability -->\n<!-- /figures:reliability -->\n',
      );
    const beyond = render({ [key]: 0.4038, [bound]: 0.3795 });
    expect(beyond.markdown).toContain(
      `| ${key} | 0.4038 | ≤ 0.3 (unreachable on this workload: no policy can beat the offline bound 0.3795 of the same run) | miss (unreachable) |`,
    );
    expect(beyond.readme).toContain('≤ 0.3 (unreachable on this workload');
    // A bound under the target: an ordinary miss.
    const within = render({ [key]: 0.4038, [bound]: 0.25 });
    expect(within.markdown).toContain(`| ${key} | 0.4038 | ≤ 0.3 | miss |`);
    expect(unreachableBound(key, { [bound]: 0.25 })).toBeNull();
    expect(unreachableBound(key, {})).toBeNull();
  });

  it('keeps the committed README in step with the committed results (what `npm run bench:report -- --check` checks)', () => {
    const current = readFileSync(README_FILE, 'utf8');
    expect(buildReport(readAllResults(), current).readme).toBe(current);
  });
});

describe('results files', () => {
  it('one file per suite and mode, replaced whole by the next run of that suite', () => {
    const dir = scratch();
    writeSuiteResults(suite('lb', 'quick', { 'lb.old_figure': 1, 'lb.kept': 2 }), dir);
    writeSuiteResults(suite('lb', 'quick', { 'lb.kept': 3 }), dir);
    writeSuiteResults(suite('lb', 'full', { 'lb.kept': 4 }), dir);
    const all = readAllResults(dir);
    expect(all.get('lb:quick')!.figures).toEqual({ 'lb.kept': 3 });
    expect(figureSets(all)).toEqual({ quick: { 'lb.kept': 3 }, full: { 'lb.kept': 4 } });
    expect(resultsFile('lb', 'full', dir)).toBe(join(dir, 'lb-full.json'));
    expect(resultsFile('faults', 'full', dir)).toBe(join(dir, 'faults.json'));
  });

  it('carries command, commit, date, machine and mode', () => {
    const p = provenance('quick', 'npm run bench -- --quick');
    expect(p).toMatchObject({
      command: 'npm run bench -- --quick',
      mode: 'quick',
      git_commit: expect.stringMatching(/^[0-9a-f]{40}$/),
      machine: { cores: expect.any(Number), node_version: process.version },
    });
    expect(new Date(p.date).getTime()).toBe(p.recorded_at_ms);
  });

  it('refuses a suite file under another suite’s name', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'hub-quick.json'), JSON.stringify(suite('lb', 'quick', {})));
    expect(() => readAllResults(dir)).toThrow(ResultsFileError);
  });
});
