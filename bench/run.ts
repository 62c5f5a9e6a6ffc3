// `npm run bench [-- --quick] [-- --only name,name]`: runs the benchmark suites and writes each
// suite's figures, with the run's provenance, to bench/results/<suite>-<mode>.json (replacing that
// suite's previous file only), then renders the report (latest.md, plots, README figure blocks).
import { provenance, setActiveRun, writeSuiteResults, type Figures, type Mode } from './results-store.js';
import { writeReport } from './report.js';

// In-process hubs log only what matters here; the tables below are the output.
process.env.BATON_LOG_LEVEL ??= 'warn';

type Bench = (opts: { quick: boolean }) => Promise<Figures>;

/** Suites in run order. To add one: a module exporting a `Bench`, a line here, targets in targets.ts, rows in report-rows.ts. */
const SUITES: Record<string, () => Promise<Bench>> = {
  director: async () => (await import('./director-decision.js')).benchDirectorDecision,
  cache: async () => (await import('./cache-trace.js')).benchCache,
  replication: async () => (await import('./control-plane.js')).benchReplication,
  watch: async () => (await import('./control-plane.js')).benchWatchRtt,
  delivery: async () => (await import('./delivery-throughput.js')).benchDelivery,
  lb: async () => (await import('./lb-sim.js')).benchLoadBalancing,
  hub: async () => (await import('./hub-load.js')).benchHubLoad,
  ingest: async () => (await import('./ingest.js')).benchIngest,
  ttff: async () => (await import('./ttff.js')).benchTtff,
  table: async () => (await import('./table-scale.js')).benchTableScale,
  seek: async () => (await import('./seek.js')).benchSeek,
  faults: async () => (await import('./faults.js')).benchFaults,
};

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const mode: Mode = quick ? 'quick' : 'full';
const onlyArg = args.find((a) => a.startsWith('--only='))?.slice(7) ?? (args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined);
const only = onlyArg ? new Set(onlyArg.split(',')) : undefined;
const unknown = [...(only ?? [])].filter((s) => !(s in SUITES));
if (unknown.length) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; known: ${Object.keys(SUITES).join(', ')}`);
  process.exit(2);
}
const command = ['npm run bench', ...(args.length ? ['--', ...args] : [])].join(' ');

const errors: string[] = [];
for (const [name, load] of Object.entries(SUITES)) {
  if (only && !only.has(name)) continue;
  // Each suite gets its own provenance: its start time and the machine's load as it starts.
  const run = provenance(mode, command);
  setActiveRun(run);
  const t0 = performance.now();
  process.stdout.write(`bench ${name}… `);
  try {
    const figures = await (await load())({ quick });
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    const file = writeSuiteResults({ suite: name, provenance: run, seconds, figures });
    console.log(`${seconds.toFixed(1)} s → ${file}`);
  } catch (err) {
    // The suite's previous file stays as it was (with its own provenance).
    errors.push(`${name}: ${(err as Error).message}`);
    console.log(`failed: ${(err as Error).message}`);
  } finally {
    setActiveRun(undefined);
  }
}

try {
  const { markdown } = writeReport();
  console.log(markdown);
} catch (err) {
  errors.push(`report: ${(err as Error).message}`);
}
if (errors.length) console.error(['', 'Errors:', ...errors.map((e) => `- ${e}`)].join('\n'));
process.exit(errors.length ? 1 : 0);
