// The repository root, found from any module whether it runs from its TypeScript
// source (node-app/…) or from the compiled CLI (dist/node/node-app/…), which sit
// at different depths.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'baton') return dir;
    if (dirname(dir) === dir) throw new Error(`no Baton package.json above ${from}`);
  }
}

/** Absolute path of the folder holding Baton's package.json. */
export const PROJECT_ROOT = findRoot(import.meta.dirname);

/** The `version` field of Baton's package.json. */
export function projectVersion(): string {
  return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
