// `npm run bench [-- --quick] [-- --only name,name] [-- --peers]`: runs the benchmark suites and writes each
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
  hubs: async () => (await import('./hub-scale.js')).benchHubScale,
  ingest: async () => (await import('./ingest.js')).benchIngest,
  ttff: async () => (await import('./ttff.js')).benchTtff,
  table: async () => (await import('./table-scale.js')).benchTableScale,
  seek: async () => (await import('./seek.js')).benchSeek,
  abr: async () => (await import('./abr.js')).benchAbr,
  faults: async () => (await import('./faults.js')).benchFaults,
};

/**
 * Suites that run only when asked for by their flag: `--peers` starts Janus, nginx and Chromium
 * against Baton (apt packages, root for a network namespace; several minutes). With the flag alone
 * only these run; with `--only` too, the named suites run as well.
 */
const OPT_IN_SUITES: Record<string, () => Promise<Bench>> = {
  peers: async () => (await import('./peers.js')).benchPeers,
  // The simulator's speed bar: one replay of 1,000,000 requests with the real cache (minutes; one size).
  lb1m: async () => (await import('./lb-sim.js')).benchMillion,
};

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const mode: Mode = quick ? 'quick' : 'full';
const onlyArg =
  args.find((a) => a.startsWith('--only='))?.slice(7) ?? (args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined);
const optedIn = Object.keys(OPT_IN_SUITES).filter((name) => args.includes(`--${name}`));
const only = onlyArg || optedIn.length ? new Set([...(onlyArg ? onlyArg.split(',') : []), ...optedIn]) : undefined;
const known = { ...SUITES, ...OPT_IN_SUITES };
const unknown = [...(only ?? [])].filter((s) => !(s in known));
if (unknown.length) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; known: ${Object.keys(known).join(', ')}`);
  process.exit(2);
}
const command = ['npm run bench', ...(args.length ? ['--', ...args] : [])].join(' ');

const errors: string[] = [];
for (const [name, load] of Object.entries(known)) {
  if (only ? !only.has(name) : name in OPT_IN_SUITES) continue;
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
