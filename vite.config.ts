import { fileURLToPath } from 'node:url';
import { createLogger, defineConfig } from 'vite';
import { litHmr } from './dev/lit-hmr-plugin.js';

// The web client (player, broadcaster, dashboard) lives in web-client/ and is
// built into dist/web, which the hub serves in production. In dev, Vite proxies
// socket.io and the HTTP API to a hub started alongside (see `baton dev`).
const hub = process.env.BATON_HUB_URL ?? 'http://127.0.0.1:8080';

/** What a proxied WebSocket sees while `baton dev` restarts the hub: socket.io reconnects by itself. */
const BACKEND_RESTART_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE']);

// Vite logs every proxied-WebSocket error with its stack; a hub restart is not an error worth a trace.
const logger = createLogger();
const logError = logger.error.bind(logger);
logger.error = (msg, opts) => {
  const code = (opts?.error as NodeJS.ErrnoException | undefined)?.code;
  if (/ws proxy (socket )?error/.test(msg) && code && BACKEND_RESTART_CODES.has(code)) return;
  logError(msg, opts);
};

export default defineConfig({
  root: 'web-client',
  customLogger: logger,
  // Dev server only (apply: 'serve'): the production build is not transformed.
  plugins: [
    litHmr({
      webClientDir: fileURLToPath(new URL('./web-client/', import.meta.url)),
      stylesDir: fileURLToPath(new URL('./web-client/styles/', import.meta.url)),
    }),
  ],
  build: { outDir: '../dist/web', emptyOutDir: true },
  server: {
    proxy: {
      '/socket.io': { target: hub, ws: true },
      '/api': hub,
      // The player's low-latency live sessions (WHEP) and browser WHIP clients.
      '/whep': hub,
      '/whip': hub,
      '/metrics': hub,
      '/healthz': hub,
      '/readyz': hub,
    },
  },
});
