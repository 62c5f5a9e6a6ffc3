// Builds the web client once per test run (or once per test process outside vitest) into a temporary directory the hub can serve.
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../helpers/cluster.js';

/**
 * Where test/global-setup.ts asks the run's e2e files to share one build (unset outside vitest). The first file that
 * needs the client builds it there; the others serve it. A build takes a second or two (vite's import, then the build)
 * that each of a dozen e2e files paid before.
 */
export const SHARED_WEB_DIR_ENV = 'BATON_TEST_WEB_DIR';

let built: Promise<string> | undefined;

/**
 * `vite build` with the project's config, into a temporary directory (not dist/web, which a developer may be
 * serving). Resolves to that directory; it holds the client as the sources were when the first caller of the run asked.
 */
export function buildWebClient(): Promise<string> {
  const shared = process.env[SHARED_WEB_DIR_ENV];
  built ??= shared ? sharedBuild(shared) : (async () => viteBuild(await mkdtemp(join(tmpdir(), 'baton-web-'))))();
  return built;
}

/** The run's build in `dir`: made now unless a file before this one made it. */
async function sharedBuild(dir: string): Promise<string> {
  if (complete(dir)) return dir;
  // Built aside, then renamed into place: a directory rename is atomic, so a file never serves a half-written build, and
  // when two files build at once (without CI's one-at-a-time) the second rename fails and that file serves the first's.
  const own = await viteBuild(await mkdtemp(`${dir}-`));
  try {
    await rename(own, dir);
  } catch (err) {
    await rm(own, { recursive: true, force: true });
    if (!complete(dir)) throw err;
  }
  return dir;
}

function complete(dir: string): boolean {
  return existsSync(join(dir, 'index.html'));
}

async function viteBuild(outDir: string): Promise<string> {
  const { build } = await import('vite');
  await build({
    configFile: join(ROOT, 'vite.config.ts'),
    // The config's root is relative to the working directory; pin it.
    root: join(ROOT, 'web-client'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}
