// `npm run bench:report [-- --check]`: renders what bench/results/*.json hold into results/latest.md,
// the plots, and the README's figure blocks (between `<!-- figures:NAME -->` and `<!-- /figures:NAME -->`).
// With --check nothing is written: it fails when README.md or latest.md differ from what it would render.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownTable, renderTemplate, templateKeys, type FigureSets } from './report-format.js';
import { writePlots } from './plots.js';
import { PERFORMANCE_ROWS, RELIABILITY_ROWS } from './report-rows.js';
import {
  MODELESS_SUITES,
  RESULTS_DIR,
  readAllResults,
  type Figures,
  type FigureValue,
  type Provenance,
  type SuiteResults,
} from './results-store.js';
import { TARGETS, meets, unreachableBound } from './targets.js';

const ROOT = join(import.meta.dirname, '..');
export const README_FILE = join(ROOT, 'README.md');
const LATEST_MD = 'latest.md';

export class ReportError extends Error {
  readonly code = 'ERR_BENCH_REPORT';
}

/** Quick and full figures, each the union of that mode's suite files; mode-less suites count for both. */
export function figureSets(results: Map<string, SuiteResults>): FigureSets {
  const sets: FigureSets = { quick: {}, full: {} };
  for (const r of results.values()) {
    const into = MODELESS_SUITES.has(r.suite) ? [sets.quick, sets.full] : [sets[r.provenance.mode]];
    for (const s of into) Object.assign(s, r.figures);
  }
  return sets;
}

/** The target, and, when the same run measured a bound beyond it, that no policy can meet it. */
const targetText = (key: string, figures: Readonly<Record<string, unknown>> = {}) => {
  const t = TARGETS[key];
  if (!t) return '';
  const text = `${t.op === '<=' ? '≤' : '≥'} ${t.value.toLocaleString('en-US')}`;
  const bound = unreachableBound(key, figures);
  return bound === null
    ? text
    : `${text} (unreachable on this workload: no policy can beat the offline bound ${shown(bound)} of the same run)`;
};

function provenanceText(p: Provenance): string {
  const commit = `${p.git_commit.slice(0, 7)}${p.git_dirty ? ' + uncommitted changes' : ''}`;
  return `${p.mode}, ${p.date.slice(0, 16).replace('T', ' ')} UTC, commit ${commit}, \`${p.command}\`, load ${p.machine.load_avg_1m} at start`;
}

function machineText(ps: Provenance[]): string {
  const kinds = [
    ...new Set(
      ps.map(
        (p) =>
          `${p.machine.cores} cores (${p.machine.cpu_model}), ${p.machine.memory_gb} GB, Node ${p.machine.node_version}, ${p.machine.platform}`,
      ),
    ),
  ];
  return kinds.join('; ');
}

/** "Measured by: …" lines for the suites whose figures a block shows. */
function provenanceLines(results: SuiteResults[]): string[] {
  if (results.length === 0) return ['No results yet: run `npm run bench -- --quick`.'];
  return [
    `Machine: ${machineText(results.map((r) => r.provenance))}. Measured by:`,
    '',
    ...results.map((r) => `- \`${r.suite}\`: ${provenanceText(r.provenance)}`),
  ];
}

/** Results files holding a figure that a set of templates names (a figure's prefix need not be its suite's name), in results order. */
function suitesNamed(results: Map<string, SuiteResults>, templates: string[]): SuiteResults[] {
  const keys = templates.flatMap(templateKeys);
  const quick = new Set(keys.filter((k) => !k.startsWith('full:')));
  const full = new Set(keys.filter((k) => k.startsWith('full:')).map((k) => k.slice(5)));
  return [...results.values()].filter((r) => {
    const named = MODELESS_SUITES.has(r.suite) ? new Set([...quick, ...full]) : r.provenance.mode === 'full' ? full : quick;
    return Object.keys(r.figures).some((k) => named.has(k));
  });
}

export function renderPerformance(results: Map<string, SuiteResults>, missing: Set<string>): string {
  const sets = figureSets(results);
  const rows = PERFORMANCE_ROWS.map((row) => {
    const value = renderTemplate(row.value, sets);
    value.missing.forEach((k) => missing.add(k));
    const missed = row.targets.some((k) => {
      const full = row.value.includes(`{${k}`) ? sets.quick[k] : sets.full[k];
      return typeof full === 'number' && meets(k, full) === false;
    });
    const shown = value.missing.length ? 'not measured' : missed ? `**${value.text}**` : value.text;
    const against = renderTemplate(row.against, sets);
    against.missing.forEach((k) => missing.add(k));
    return [
      renderTemplate(row.figure, sets).text,
      shown,
      row.targets
        .map((k) => targetText(k, row.value.includes(`{${k}`) ? sets.quick : sets.full))
        .filter(Boolean)
        .join(' / '),
      against.text || '—',
    ];
  });
  const used = suitesNamed(
    results,
    PERFORMANCE_ROWS.flatMap((r) => [r.figure, r.value, r.against]),
  );
  return [
    markdownTable(['figure', 'value', 'target', 'measured against'], rows),
    '',
    'Values in bold miss their target.',
    '',
    ...provenanceLines(used),
  ].join('\n');
}

export function renderReliability(results: Map<string, SuiteResults>, missing: Set<string>): string {
  const sets = figureSets(results);
  const rows = RELIABILITY_ROWS.map((row, i) => {
    const fault = renderTemplate(row.fault, sets);
    const figure = renderTemplate(row.figure, sets);
    [...fault.missing, ...figure.missing].forEach((k) => missing.add(k));
    return [String(i + 1), fault.text, row.holds, figure.missing.length ? 'not measured' : figure.text];
  });
  const used = suitesNamed(
    results,
    RELIABILITY_ROWS.flatMap((r) => [r.fault, r.figure]),
  );
  return [markdownTable(['#', 'fault', 'holds', 'last figure'], rows), '', ...provenanceLines(used)].join('\n');
}

const shown = (v: FigureValue) =>
  typeof v === 'number' ? String(+v.toPrecision(4)) : Array.isArray(v) ? `[${v.length} samples]` : v === null ? 'null' : v;

/** latest.md: every figure of every suite file, with its target and pass/miss, under its run's provenance. */
export function renderLatest(results: Map<string, SuiteResults>): string {
  const out = [
    '# Benchmark results',
    '',
    'Rendered by `npm run bench:report` from `bench/results/*.json`; each suite under the run that measured it.',
  ];
  for (const r of results.values()) {
    out.push(
      '',
      `## ${r.suite} (${r.provenance.mode})`,
      '',
      `${provenanceText(r.provenance)}; ${machineText([r.provenance])}; ${r.seconds} s.`,
      '',
    );
    const rows = Object.entries(r.figures as Figures).map(([k, v]) => {
      const ok = typeof v === 'number' ? meets(k, v) : null;
      const beyond = unreachableBound(k, r.figures);
      return [k, shown(v), targetText(k, r.figures), ok === null ? '' : ok ? 'pass' : beyond === null ? 'miss' : 'miss (unreachable)'];
    });
    out.push(markdownTable(['figure', 'value', 'target', ''], rows));
  }
  return out.join('\n') + '\n';
}

/** Replaces the text between `<!-- figures:NAME -->` and `<!-- /figures:NAME -->`; each block must exist once. */
export function replaceBlock(doc: string, name: string, body: string): string {
  const open = `<!-- figures:${name} -->`;
  const close = `<!-- /figures:${name} -->`;
  const a = doc.indexOf(open);
  const b = doc.indexOf(close);
  if (a < 0 || b < a || doc.indexOf(open, a + 1) >= 0) throw new ReportError(`README must hold exactly one ${open} … ${close} block`);
  return `${doc.slice(0, a + open.length)}\n${body}\n${doc.slice(b)}`;
}

export interface Report {
  readme: string;
  markdown: string;
  missing: string[];
  /** Plot files written (by writeReport only). */
  plots: string[];
}

export function buildReport(results: Map<string, SuiteResults>, readme: string): Report {
  const missing = new Set<string>();
  let doc = replaceBlock(readme, 'performance', renderPerformance(results, missing));
  doc = replaceBlock(doc, 'reliability', renderReliability(results, missing));
  return { readme: doc, markdown: renderLatest(results), missing: [...missing].sort(), plots: [] };
}

/** Renders the report from bench/results and writes README.md's figure blocks, latest.md and the plots (from the quick figures). */
export function writeReport(dir = RESULTS_DIR): Report {
  const results = readAllResults(dir);
  const report = buildReport(results, readFileSync(README_FILE, 'utf8'));
  writeFileSync(README_FILE, report.readme);
  writeFileSync(join(dir, LATEST_MD), report.markdown);
  // Plots are redrawn from the figures each time: one whose figures are gone must not stay behind.
  for (const f of readdirSync(dir)) if (f.endsWith('.svg')) rmSync(join(dir, f));
  return { ...report, plots: writePlots(figureSets(results).quick, dir) };
}

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  const results = readAllResults();
  const current = readFileSync(README_FILE, 'utf8');
  const report = buildReport(results, current);
  if (report.missing.length) {
    const shown = report.missing.slice(0, 12).join(', ');
    console.error(
      `${report.missing.length} figures named in report-rows.ts are in no results file (shown as n/a): ${shown}${report.missing.length > 12 ? ', …' : ''}`,
    );
  }
  if (check) {
    const stale = [
      ...(report.readme !== current ? ['README.md'] : []),
      ...(readLatest() !== report.markdown ? [`bench/results/${LATEST_MD}`] : []),
    ];
    if (stale.length) {
      console.error(
        `${stale.join(' and ')} ${stale.length > 1 ? 'differ' : 'differs'} from what \`npm run bench:report\` renders from bench/results/*.json: run it and commit the result.`,
      );
      return 1;
    }
    console.log('README.md and bench/results/latest.md match bench/results/*.json');
    return 0;
  }
  const { plots } = writeReport();
  console.log(`wrote README.md figure blocks, bench/results/${LATEST_MD}, ${plots.join(', ')}`);
  return 0;
}

function readLatest(): string {
  try {
    return readFileSync(join(RESULTS_DIR, LATEST_MD), 'utf8');
  } catch {
    return '';
  }
}

if (process.argv[1] && import.meta.filename === process.argv[1]) process.exitCode = await main();
