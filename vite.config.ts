import { defineConfig } from 'vite';

// The web client (player, broadcaster, dashboard) lives in web-client/ and is
// built into dist/web, which the hub serves in production. In dev, Vite proxies
// socket.io and the HTTP API to a hub started alongside (see `baton dev`).
const hub = process.env.BATON_HUB_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: 'web-client',
  build: { outDir: '../dist/web', emptyOutDir: true },
  server: {
    proxy: {
      '/socket.io': { target: hub, ws: true },
      '/api': hub,
      '/metrics': hub,
      '/healthz': hub,
      '/readyz': hub,
    },
  },
});
