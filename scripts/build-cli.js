#!/usr/bin/env node
// Compiles the Node side of Baton (common/, node-app/, signaling/, client-sdk/, scripts/)
// from TypeScript to JavaScript in dist/node/, file by file with the same layout,
// so `baton` starts without compiling anything (bin/baton.js). Run by npm's
// `prepare` (so `npm ci` does it) and by `npm run build:cli`.
//
// Not bundled on purpose: every module keeps its own file, so `import.meta.url`
// checks ("am I the entry point?") and fork(import.meta.url) keep working.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
/** Folders whose TypeScript the CLI can load. */
export const CLI_SOURCE_DIRS = ['common', 'node-app', 'signaling', 'client-sdk', 'scripts'];
export const CLI_OUT_DIR = join(ROOT, 'dist/node');
/** Written last: which sources went into dist/node and when the build read them. */
export const CLI_MANIFEST = join(CLI_OUT_DIR, 'build-info.json');

function sources(dir) {
  const out = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(rel));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Builds dist/node; resolves to the number of files compiled. */
export async function buildCli() {
  const startedAtMs = Date.now();
  const files = CLI_SOURCE_DIRS.flatMap(sources);
  const tmp = `${CLI_OUT_DIR}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: files,
    outdir: tmp,
    outbase: '.',
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'warning',
  });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(
    join(tmp, 'build-info.json'),
    `${JSON.stringify({ startedAtMs, sources: files.map((f) => relative(ROOT, join(ROOT, f))) })}\n`,
  );
  // Swap the whole folder at once, so a `baton` starting meanwhile sees the old build or the new one.
  const old = `${CLI_OUT_DIR}.old-${process.pid}`;
  try {
    renameSync(CLI_OUT_DIR, old);
  } catch {
    /* no previous build */
  }
  renameSync(tmp, CLI_OUT_DIR);
  rmSync(old, { recursive: true, force: true });
  return files.length;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const t0 = Date.now();
  buildCli().then(
    (n) => console.log(`baton: compiled ${n} files into dist/node in ${Date.now() - t0} ms`),
    (err) => {
      // The CLI still runs from source through tsx, only slower: never fail `npm ci` for this.
      console.warn(`baton: could not compile the CLI (${err.message}); \`baton\` will run from source through tsx`);
    },
  );
}
