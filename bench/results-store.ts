// Where benchmark results live and what each file carries: one file per suite and mode
// (`<suite>-quick.json`, `<suite>-full.json`; mode-less suites `<suite>.json`), each with the
// provenance of the run that wrote it, so a figure always says which command, commit and machine made it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

export const RESULTS_DIR = join(import.meta.dirname, 'results');
const ROOT = join(import.meta.dirname, '..');

export type Mode = 'quick' | 'full';
/** Figures are numbers (unit in the name); a few are null (not measurable in that run) or arrays of samples. */
export type FigureValue = number | null | string | number[];
export type Figures = Record<string, FigureValue>;

export interface Provenance {
  /** The command line that produced the file, e.g. `npm run bench -- --quick --only lb`. */
  command: string;
  git_commit: string;
  /** True when tracked files other than bench/results/ differed from the commit. */
  git_dirty: boolean;
  /** ISO date-time the run started (UTC). */
  date: string;
  /** The run's start, ms since the epoch. */
  recorded_at_ms: number;
  mode: Mode;
  machine: { cores: number; cpu_model: string; memory_gb: number; node_version: string; platform: string; load_avg_1m: number };
}

export interface SuiteResults {
  suite: string;
  provenance: Provenance;
  /** Wall time of the suite. */
  seconds: number;
  figures: Figures;
}

/** Suites whose work does not change with --quick: one file for both modes. */
export const MODELESS_SUITES: ReadonlySet<string> = new Set(['faults', 'lb1m']);

export function resultsFile(suite: string, mode: Mode, dir = RESULTS_DIR): string {
  return join(dir, MODELESS_SUITES.has(suite) ? `${suite}.json` : `${suite}-${mode}.json`);
}

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** Provenance of a run starting now. */
export function provenance(mode: Mode, command: string, now = Date.now()): Provenance {
  const cpu = cpus();
  return {
    command,
    git_commit: git('rev-parse', 'HEAD') || 'unknown',
    git_dirty: git('status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)bench/results') !== '',
    date: new Date(now).toISOString(),
    recorded_at_ms: now,
    mode,
    machine: {
      cores: cpu.length,
      cpu_model: cpu[0]?.model.trim() ?? 'unknown',
      memory_gb: Math.round(totalmem() / 2 ** 30),
      node_version: process.version,
      platform: `${process.platform} ${process.arch}`,
      load_avg_1m: Math.round(loadavg()[0]! * 100) / 100,
    },
  };
}

let active: Provenance | undefined;
/** The run in progress (set by bench/run.ts), for suites that write files of their own next to the results. */
export function activeRun(): Provenance | undefined {
  return active;
}
export function setActiveRun(p: Provenance | undefined): void {
  active = p;
}

/** Replaces the suite's file for this mode: figures of an earlier run of the suite are dropped, not merged. */
export function writeSuiteResults(r: SuiteResults, dir = RESULTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const file = resultsFile(r.suite, r.provenance.mode, dir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(r, null, 2) + '\n');
  renameSync(tmp, file);
  return file;
}

export class ResultsFileError extends Error {
  readonly code = 'ERR_RESULTS_FILE';
}

function isSuiteResults(x: unknown): x is SuiteResults {
  const r = x as SuiteResults;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.suite === 'string' &&
    typeof r.figures === 'object' &&
    typeof r.provenance?.mode === 'string'
  );
}

/** Every suite results file in `dir`, keyed `<suite>:<mode>`. Other JSON files (samples, …) are skipped. */
export function readAllResults(dir = RESULTS_DIR): Map<string, SuiteResults> {
  const out = new Map<string, SuiteResults>();
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.json')) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(join(dir, name), 'utf8'));
    } catch (err) {
      throw new ResultsFileError(`${join(dir, name)}: not JSON (${(err as Error).message})`, { cause: err });
    }
    if (!isSuiteResults(parsed)) continue;
    if (resultsFile(parsed.suite, parsed.provenance.mode, dir) !== join(dir, name)) {
      throw new ResultsFileError(
        `${join(dir, name)} holds suite ${parsed.suite} (${parsed.provenance.mode}): it belongs in ${resultsFile(parsed.suite, parsed.provenance.mode, dir)}`,
      );
    }
    out.set(`${parsed.suite}:${parsed.provenance.mode}`, parsed);
  }
  return out;
}
