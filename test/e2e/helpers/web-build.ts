// Builds the web client once per test process into a temporary directory the hub can serve.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { ROOT } from './browser.js';

let built: Promise<string> | undefined;

/**
 * Run `vite build` with the project's config, writing to a fresh temp dir
 * (not dist/web, which a developer may be serving). Resolves to that dir.
 */
export function buildWebClient(): Promise<string> {
  built ??= (async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'baton-web-'));
    await build({
      configFile: join(ROOT, 'vite.config.ts'),
      // The config's root is relative to the working directory; pin it.
      root: join(ROOT, 'web-client'),
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true },
    });
    return outDir;
  })();
  return built;
}
