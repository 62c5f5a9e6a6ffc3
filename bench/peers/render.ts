// Renders a config template from bench/peers/ into a run's temporary directory.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PEERS_DIR = import.meta.dirname;

/** Reads `bench/peers/<template>`, fills every `{{KEY}}` from `values` (a missing key is an error), writes `outFile`. */
export function renderConfig(template: string, values: Record<string, string | number | boolean>, outFile: string): void {
  const text = readFileSync(join(PEERS_DIR, template), 'utf8').replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`${template}: no value for {{${key}}}`);
    return String(values[key]);
  });
  writeFileSync(outFile, text);
}
