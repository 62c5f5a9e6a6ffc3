// The fault suite's figures (resume time, queue cap, success shares, …) for bench/run.ts: the tests
// in test/faults record them in bench/results/faults.json as they pass; this reads them back.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const FAULTS_FILE = join(import.meta.dirname, 'results/faults.json');

/** `faults.*` figures from the last `npm run test:faults`; `opts.quick` is ignored (nothing is run). */
export async function benchFaults(_opts: { quick: boolean }): Promise<Record<string, number>> {
  let text: string;
  try {
    text = readFileSync(FAULTS_FILE, 'utf8');
  } catch {
    throw new Error(`${FAULTS_FILE} is missing: run \`npm run test:faults\` first`);
  }
  const figures = JSON.parse(text) as Record<string, number>;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(figures)) if (k.startsWith('faults.') && typeof v === 'number') out[k] = v;
  out['faults.recorded_at_ms'] = statSync(FAULTS_FILE).mtimeMs;
  return out;
}
