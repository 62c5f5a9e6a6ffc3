// `npm run bench [-- --quick] [-- --only name,name]`: runs every benchmark, writes
// bench/results/latest.json (flat figures, unit in each name) and latest.md (a table).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { TARGETS, meets } from './targets.js';

// In-process hubs log only what matters here; the tables below are the output.
process.env.BATON_LOG_LEVEL ??= 'warn';

type Bench = (opts: { quick: boolean }) => Promise<Record<string, number>>;

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
  faults: async () => (await import('./faults.js')).benchFaults,
};

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only='))?.slice(7) ?? (args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined);
const only = onlyArg ? new Set(onlyArg.split(',')) : undefined;

const dir = join(import.meta.dirname, 'results');
/** With --only, the other suites' last figures are kept: the file always holds every figure. */
function previous(): Record<string, number | string> {
  if (!only) return {};
  try {
    return JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as Record<string, number | string>;
  } catch {
    return {};
  }
}

const figures: Record<string, number | string> = {
  ...previous(),
  'machine.cores': cpus().length,
  'machine.node_version': process.version,
  'run.quick': quick ? 1 : 0,
};
const errors: string[] = [];
for (const [name, load] of Object.entries(SUITES)) {
  if (only && !only.has(name)) continue;
  const t0 = performance.now();
  process.stdout.write(`bench ${name}… `);
  try {
    const r = await (await load())({ quick });
    Object.assign(figures, r);
    const seconds = (performance.now() - t0) / 1000;
    figures[`run.seconds.${name}`] = Math.round(seconds * 10) / 10;
    console.log(`${seconds.toFixed(1)} s`);
  } catch (err) {
    errors.push(`${name}: ${(err as Error).message}`);
    console.log(`failed: ${(err as Error).message}`);
  }
}

mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'latest.json'), JSON.stringify(figures, null, 2) + '\n');
// Plots next to the results, drawn from the figures just written (a plot without its figures is skipped).
let plots: string[] = [];
try {
  plots = (await import('./plots.js')).writePlots(figures, dir);
} catch (err) {
  errors.push(`plots: ${(err as Error).message}`);
}
const rows = Object.entries(figures).map(([k, v]) => {
  const t = TARGETS[k];
  const ok = typeof v === 'number' ? meets(k, v) : null;
  const shown = typeof v === 'number' ? +v.toPrecision(4) : Array.isArray(v) ? `[${(v as unknown[]).length} samples]` : v;
  return `| ${k} | ${shown} | ${t ? `${t.op} ${t.value}` : ''} | ${ok === null ? '' : ok ? 'pass' : 'miss'} |`;
});
const md = [
  `# Benchmark results${quick ? ' (quick)' : ''}`,
  '',
  `${cpus().length} cores, Node ${process.version}. Regenerate with \`npm run bench${quick ? ' -- --quick' : ''}\`.`,
  '',
  '| figure | value | target | |',
  '|---|---|---|---|',
  ...rows,
  ...(plots.length ? ['', '## Plots', '', ...plots.map((p) => `![${p}](${p})`)] : []),
  ...(errors.length ? ['', '## Errors', '', ...errors.map((e) => `- ${e}`)] : []),
  '',
].join('\n');
writeFileSync(join(dir, 'latest.md'), md);
console.log(md);
process.exit(errors.length ? 1 : 0);
