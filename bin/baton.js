#!/usr/bin/env node
// The `baton` command. Runs the CLI compiled into dist/node (`npm run build:cli`,
// which `npm ci` runs as `prepare`) when that build is there and no source is
// newer than it; otherwise runs the TypeScript sources through tsx (slower start,
// always current), so an edit never runs stale code.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..');
const COMPILED = join(ROOT, 'dist/node');

/** The compiled entry point when every source it was built from is unchanged since. */
function compiledEntry() {
  if (process.env.BATON_FROM_SOURCE === '1') return null;
  try {
    const { startedAtMs, sources } = JSON.parse(readFileSync(join(COMPILED, 'build-info.json'), 'utf8'));
    for (const src of sources) if (statSync(join(ROOT, src)).mtimeMs >= startedAtMs) return null;
    return pathToFileURL(join(COMPILED, 'node-app/cli/main.js')).href;
  } catch {
    return null; // no build, or a source was removed since
  }
}

const entry = compiledEntry();
if (entry) {
  await import(entry);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../node-app/cli/main.ts');
}
