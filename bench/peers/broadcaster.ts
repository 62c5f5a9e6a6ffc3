// The init script that turns the Baton broadcaster's camera into the clock canvas (broadcaster-canvas.ts).
import { join } from 'node:path';
import { build } from 'esbuild';
import { PEERS_DIR } from './render.js';

let bundle: Promise<string> | undefined;

export function broadcasterScript(): Promise<string> {
  bundle ??= build({
    entryPoints: [join(PEERS_DIR, 'broadcaster-canvas.ts')],
    bundle: true,
    format: 'iife',
    write: false,
    target: 'es2022',
  }).then((r) => r.outputFiles[0]!.text);
  return bundle;
}
