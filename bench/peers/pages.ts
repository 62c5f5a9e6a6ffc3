// The viewer pages' origin: a loopback HTTP server for bench/peers/pages/*.html and hls.js, and the probe
// (bench/peers/probe.ts bundled with esbuild) that every viewer page, Baton's included, runs first.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from '../../test/helpers/cluster.js';
import { PEERS_DIR } from './render.js';

const PAGES: Record<string, string> = {
  'janus.html': 'text/html',
  'hls.html': 'text/html',
  'http.html': 'text/html',
  'whep.html': 'text/html',
  'whip.html': 'text/html',
};
const HLS_JS = join(ROOT, 'node_modules/hls.js/dist/hls.min.js');

export interface PageServer {
  base: string;
  close(): Promise<void>;
}

/** Serves the pages on 127.0.0.1 (port 0). */
export async function startPageServer(): Promise<PageServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
    try {
      if (path === 'hls.min.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(HLS_JS));
      } else if (path in PAGES) {
        res.writeHead(200, { 'content-type': PAGES[path]!, 'cache-control': 'no-store' }).end(readFileSync(join(PEERS_DIR, 'pages', path)));
      } else {
        res.writeHead(404).end();
      }
    } catch (err) {
      res.writeHead(500).end((err as Error).message);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A page's URL with its parameters. */
export function pageUrl(base: string, page: keyof typeof PAGES | string, params: Record<string, string>): string {
  return `${base}/${page}?${new URLSearchParams(params)}`;
}

let bundle: Promise<string> | undefined;

/** The init script for a viewer page: the probe, told whether to read clocks. */
export async function probeScript(opts: { clock: boolean }): Promise<string> {
  bundle ??= build({ entryPoints: [join(PEERS_DIR, 'probe.ts')], bundle: true, format: 'iife', write: false, target: 'es2022' }).then(
    (r) => r.outputFiles[0]!.text,
  );
  return `window.__peerProbe = ${JSON.stringify(opts)};\n${await bundle}`;
}
