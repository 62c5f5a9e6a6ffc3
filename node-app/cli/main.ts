// The `baton` command line: hub, server, watch, demo. Every flag has an environment variable.
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_LOAD_WEIGHTS } from '../../signaling/protocol/load-factor.js';
import { resolve } from 'node:path';
import { DEFAULT_LOAD_BOUND } from '../director/select.js';
import { DEFAULT_SESSION_LIMITS } from '../../signaling/core/session-registry.js';
import { DEFAULT_MAX_INGEST_SESSIONS, UNCONNECTED_SESSION_MS } from '../slot-defaults.js';
import { firstReachable, hubId, hubUrls, iceAllow, iceServers, int, list, loadBound, loadWeights, num, opt, redisUrl } from './parsers.js';
import { applySettings } from './settings.js';
import { projectVersion } from '../project-root.js';

const program = new Command('baton')
  .description('Baton: a browser-based WebRTC streaming network (signaling hub, media servers, web client).')
  .version(projectVersion(), '-V, --version', 'print the version of Baton')
  .showHelpAfterError('(add --help for usage)')
  .configureHelp({ showGlobalOptions: true });

/** Runs `start`, then waits for SIGINT/SIGTERM and calls `stop` once. */
function runUntilSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (err) => {
        console.error(`error while stopping after ${sig}: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

program.hook('preAction', (_root, cmd) => applySettings(cmd));

program
  .command('hub')
  .description('Run the signaling hub: state table, director rotation, signaling relay, HTTP API and the web client.')
  .addOption(opt('--config <file>', 'JSON config file (keys = flags in camelCase)', 'BATON_CONFIG'))
  .addOption(opt('--port <n>', 'TCP port (0 = any free port)', 'BATON_PORT', int('port', 0, 65535), 8080))
  .addOption(opt('--host <addr>', 'interface to bind (0.0.0.0 to accept other machines)', 'BATON_HOST', undefined, '127.0.0.1'))
  .addOption(
    opt(
      '--cluster-secret <s>',
      'shared secret media servers authenticate with (required, ≥ 16 bytes; prefer the -file form)',
      'BATON_CLUSTER_SECRET',
    ),
  )
  .addOption(
    opt(
      '--cluster-secret-file <file>',
      'read the cluster secret from this file (a trailing newline is dropped)',
      'BATON_CLUSTER_SECRET_FILE',
    ),
  )
  .addOption(
    opt(
      '--heartbeat-ms <ms>',
      'expected server heartbeat period; 3 missed = removed',
      'BATON_HEARTBEAT_MS',
      int('heartbeat-ms', 50, 60_000),
      1000,
    ),
  )
  .addOption(
    opt('--rotation-ms <ms>', 'director rotation period (0 = only on failure)', 'BATON_ROTATION_MS', int('rotation-ms', 0), 30_000),
  )
  .addOption(
    opt(
      '--director-timeout-ms <ms>',
      'how long to wait for the director before rotating',
      'BATON_DIRECTOR_TIMEOUT_MS',
      int('director-timeout-ms', 10, 60_000),
      500,
    ),
  )
  .addOption(opt('--stream-keys <k1,k2>', 'accepted broadcaster stream keys', 'BATON_STREAM_KEYS', list, []))
  .addOption(
    opt(
      '--stream-key-secret <s>',
      'also accept keys signed with this secret (see `baton stream-key`; ≥ 16 bytes)',
      'BATON_STREAM_KEY_SECRET',
    ),
  )
  .addOption(opt('--stream-key-secret-file <file>', 'read the stream-key secret from this file', 'BATON_STREAM_KEY_SECRET_FILE'))
  .addOption(
    opt(
      '--operator-token <t>',
      'token for /api/state, /api/decisions, /metrics and the dashboard (≥ 16 bytes; without one they are open on loopback, closed elsewhere)',
      'BATON_OPERATOR_TOKEN',
    ),
  )
  .addOption(opt('--operator-token-file <file>', 'read the operator token from this file', 'BATON_OPERATOR_TOKEN_FILE'))
  .addOption(
    opt(
      '--http-rate <n>',
      'HTTP requests per second per client IP (bursts of twice that)',
      'BATON_HTTP_RATE',
      int('http-rate', 1, 1_000_000),
      50,
    ),
  )
  .addOption(opt('--trusted-proxies <ip1,ip2>', 'peers whose X-Forwarded-For is honoured', 'BATON_TRUSTED_PROXIES', list, []))
  .addOption(opt('--static-dir <dir>', 'built web client to serve at /', 'BATON_STATIC_DIR', undefined, 'dist/web'))
  .addOption(opt('--ice-servers <json>', 'STUN/TURN servers handed to browsers, as JSON', 'BATON_ICE_SERVERS', iceServers, []))
  .addOption(
    opt(
      '--max-unconnected-per-conn <n>',
      'viewer sessions one client connection may hold before their WebRTC connection is up',
      'BATON_MAX_UNCONNECTED_PER_CONN',
      int('max-unconnected-per-conn', 1, 1_000_000),
      DEFAULT_SESSION_LIMITS.unconnectedPerConn,
    ),
  )
  .addOption(
    opt(
      '--max-unconnected-per-ip <n>',
      'the same, per client IP (loopback is not capped per IP)',
      'BATON_MAX_UNCONNECTED_PER_IP',
      int('max-unconnected-per-ip', 1, 1_000_000),
      DEFAULT_SESSION_LIMITS.unconnectedPerIp,
    ),
  )
  .addOption(
    opt(
      '--max-sessions-per-conn <n>',
      'viewer sessions one client connection may hold, connected or not',
      'BATON_MAX_SESSIONS_PER_CONN',
      int('max-sessions-per-conn', 1, 1_000_000),
      DEFAULT_SESSION_LIMITS.sessionsPerConn,
    ),
  )
  .addOption(
    opt(
      '--max-sessions-per-ip <n>',
      'the same, per client IP (loopback is not capped per IP)',
      'BATON_MAX_SESSIONS_PER_IP',
      int('max-sessions-per-ip', 1, 1_000_000),
      DEFAULT_SESSION_LIMITS.sessionsPerIp,
    ),
  )
  .addOption(
    opt(
      '--redis <url>',
      'share one cluster among several hubs through this Redis (redis://host:port[/db]); without it the hub keeps everything in memory',
      'BATON_REDIS_URL',
      redisUrl,
    ),
  )
  .addOption(opt('--redis-prefix <p>', 'key prefix in Redis (two clusters can share one Redis)', 'BATON_REDIS_PREFIX', undefined, 'baton:'))
  .addOption(
    opt(
      '--lease-ms <ms>',
      'with --redis: how long the rotation lease lasts; another hub takes over within about this after its holder dies',
      'BATON_LEASE_MS',
      int('lease-ms', 300, 60_000),
      3_000,
    ),
  )
  .addOption(opt('--hub-id <id>', "this hub's name among several (default hub-<random>)", 'BATON_HUB_ID', hubId))
  .action(async (o) => {
    const { Hub } = await import('../../signaling/hub.js');
    const hub = new Hub({
      redisUrl: o.redis,
      redisPrefix: o.redisPrefix,
      hubId: o.hubId,
      leaseMs: o.leaseMs,
      port: o.port,
      host: o.host,
      clusterSecret: o.clusterSecret,
      heartbeatMs: o.heartbeatMs,
      rotationMs: o.rotationMs,
      directorTimeoutMs: o.directorTimeoutMs,
      streamKeys: o.streamKeys,
      trustedProxies: o.trustedProxies,
      staticDir: resolve(o.staticDir),
      iceServers: o.iceServers,
      streamKeySecret: o.streamKeySecret,
      operatorToken: o.operatorToken,
      httpRatePerS: o.httpRate,
      httpBurst: 2 * o.httpRate,
      sessionLimits: {
        unconnectedPerConn: o.maxUnconnectedPerConn,
        unconnectedPerIp: o.maxUnconnectedPerIp,
        sessionsPerConn: o.maxSessionsPerConn,
        sessionsPerIp: o.maxSessionsPerIp,
      },
    });
    const url = await hub.start();
    console.log(`Baton hub listening on ${url}`);
    runUntilSignal(() => hub.close());
  });

program
  .command('server')
  .description('Run a media server: storage, adaptable cache, director role, WebRTC delivery.')
  .addOption(opt('--config <file>', 'JSON config file (keys = flags in camelCase)', 'BATON_CONFIG'))
  .addOption(
    opt('--hub <url,…>', 'hub URL, or several hubs of one cluster (moves to the next when one disappears)', 'BATON_HUB', hubUrls, [
      'http://127.0.0.1:8080',
    ]),
  )
  .addOption(opt('--cluster-secret <s>', 'shared cluster secret (required, ≥ 16 bytes; prefer the -file form)', 'BATON_CLUSTER_SECRET'))
  .addOption(
    opt(
      '--cluster-secret-file <file>',
      'read the cluster secret from this file (a trailing newline is dropped)',
      'BATON_CLUSTER_SECRET_FILE',
    ),
  )
  .addOption(opt('--id <id>', 'server id ([A-Za-z0-9_-], ≤ 64; required)', 'BATON_SERVER_ID'))
  .addOption(opt('--region <name>', 'region name', 'BATON_REGION', undefined, 'local'))
  .addOption(opt('--lat <deg>', 'latitude', 'BATON_LAT', num('lat', -90, 90), 0))
  .addOption(opt('--lon <deg>', 'longitude', 'BATON_LON', num('lon', -180, 180), 0))
  .addOption(opt('--storage <dir>', 'storage directory with <asset-id>.webm files (required)', 'BATON_STORAGE'))
  .addOption(opt('--cache-mb <n>', 'adaptable cache budget, MiB', 'BATON_CACHE_MB', num('cache-mb', 0, 1_000_000), 64))
  .addOption(
    opt(
      '--cache-policy <p>',
      'cache policy: gic (generalized interval caching: concurrent pairs plus whole assets on predicted intervals), interval (concurrent pairs only) or lru',
      'BATON_CACHE_POLICY',
    )
      .choices(['gic', 'interval', 'lru'])
      .default('gic'),
  )
  .addOption(opt('--max-sessions <n>', 'most concurrent viewer sessions', 'BATON_MAX_SESSIONS', int('max-sessions', 1), 100))
  .addOption(
    opt(
      '--max-ingest-sessions <n>',
      'most concurrent broadcast (ingest) sessions, apart from viewers',
      'BATON_MAX_INGEST_SESSIONS',
      int('max-ingest-sessions', 1, 1_000_000),
      DEFAULT_MAX_INGEST_SESSIONS,
    ),
  )
  .addOption(
    opt(
      '--unconnected-session-ms <ms>',
      'close a viewer session whose WebRTC connection is not up this long after it opened',
      'BATON_UNCONNECTED_SESSION_MS',
      int('unconnected-session-ms', 100, 600_000),
      UNCONNECTED_SESSION_MS,
    ),
  )
  .addOption(opt('--uplink-mbps <n>', 'uplink capacity, Mbit/s', 'BATON_UPLINK_MBPS', num('uplink-mbps', 0.001, 1_000_000), 1000))
  .addOption(opt('--ingest', 'accept broadcasts (ingest role)', 'BATON_INGEST'))
  .addOption(
    opt(
      '--ingest-max-mbps <n>',
      'per-stream ingest quota: average bitrate, Mbit/s',
      'BATON_INGEST_MAX_MBPS',
      num('ingest-max-mbps', 0.01, 100_000),
      25,
    ),
  )
  .addOption(opt('--ingest-max-mb <n>', 'per-stream ingest quota: size, MiB', 'BATON_INGEST_MAX_MB', num('ingest-max-mb', 1, 1e9), 8192))
  .addOption(opt('--heartbeat-ms <ms>', 'heartbeat period', 'BATON_HEARTBEAT_MS', int('heartbeat-ms', 50, 60_000), 1000))
  .addOption(opt('--http-port <n>', 'port for /metrics and /healthz (0 = any free port)', 'BATON_HTTP_PORT', int('http-port', 0, 65535), 0))
  .addOption(opt('--http-host <addr>', 'interface for the HTTP side', 'BATON_HTTP_HOST', undefined, '127.0.0.1'))
  .addOption(
    opt('--load-weights <w>', 'load factor weights (used when this server is director)', 'BATON_LOAD_WEIGHTS', loadWeights, {
      sessions: DEFAULT_LOAD_WEIGHTS.sessions,
      egress: DEFAULT_LOAD_WEIGHTS.egress,
      cpu: DEFAULT_LOAD_WEIGHTS.cpu,
    }),
  )
  .addOption(
    opt(
      '--load-threshold <x>',
      'a server at or above this load factor gets no new session',
      'BATON_LOAD_THRESHOLD',
      num('load-threshold', 0.01, 10),
      DEFAULT_LOAD_WEIGHTS.threshold,
    ),
  )
  .addOption(
    opt(
      '--load-bound <e|off>',
      'as director, prefer servers under (1 + e) × the mean load factor ("off": threshold only)',
      'BATON_LOAD_BOUND',
      loadBound,
      DEFAULT_LOAD_BOUND,
    ),
  )
  .addOption(
    opt(
      '--slow-viewer-ms <ms>',
      'drop a viewer that reads under half the bitrate for this long',
      'BATON_SLOW_VIEWER_MS',
      int('slow-viewer-ms', 100),
      20_000,
    ),
  )
  .addOption(
    opt(
      '--stall-timeout-ms <ms>',
      'drop a viewer whose channel accepts nothing for this long',
      'BATON_STALL_TIMEOUT_MS',
      int('stall-timeout-ms', 100),
      15_000,
    ),
  )
  .addOption(opt('--ice-servers <json>', 'STUN/TURN servers for WebRTC, as JSON', 'BATON_ICE_SERVERS', iceServers, []))
  .addOption(
    opt(
      '--ice-allow <list>',
      'remote ICE candidates in these CIDRs (or "loopback", "private") are probed although loopback/private; hostnames never are',
      'BATON_ICE_ALLOW',
      iceAllow,
      [],
    ),
  )
  .addOption(
    opt(
      '--allow-fast',
      'viewers that ask for fast (unpaced) delivery get it (benchmarks, trusted tools); default: every viewer is paced',
      'BATON_ALLOW_FAST',
    ),
  )
  .addOption(
    opt(
      '--no-posters',
      'make no poster pictures (by default ffmpeg takes one from the first keyframe of each stored asset without <id>.poster.jpg)',
      'BATON_NO_POSTERS',
    ),
  )
  .addOption(
    opt(
      '--rtc-bind-address <addr>',
      "local address WHIP publishers' ICE binds to (default: all interfaces)",
      'BATON_RTC_BIND_ADDRESS',
      undefined,
      undefined,
    ),
  )
  .action(async (o) => {
    const { MediaServer } = await import('../media-server.js');
    const server = new MediaServer({
      hubUrl: o.hub,
      clusterSecret: o.clusterSecret,
      id: o.id,
      region: o.region,
      lat: o.lat,
      lon: o.lon,
      storageDir: resolve(o.storage),
      cacheMb: o.cacheMb,
      cachePolicy: o.cachePolicy,
      maxSessions: o.maxSessions,
      maxIngestSessions: o.maxIngestSessions,
      unconnectedSessionMs: o.unconnectedSessionMs,
      uplinkMbps: o.uplinkMbps,
      ingest: Boolean(o.ingest),
      ingestMaxMbps: o.ingestMaxMbps,
      ingestMaxMb: o.ingestMaxMb,
      heartbeatMs: o.heartbeatMs,
      httpPort: o.httpPort,
      httpHost: o.httpHost,
      iceServers: o.iceServers,
      rtcBindAddress: o.rtcBindAddress,
      sessionTimeouts: { slowMs: o.slowViewerMs, stallMs: o.stallTimeoutMs },
      allowFast: Boolean(o.allowFast),
      posters: o.posters !== false,
      iceAllow: o.iceAllow,
      weights: { ...o.loadWeights, threshold: o.loadThreshold },
      loadBound: o.loadBound === 'off' ? null : o.loadBound,
    });
    server.on('fatal', (err) => {
      console.error(`baton server ${o.id}: ${err.message}`);
      void server.close().finally(() => process.exit(1));
    });
    await server.start();
    console.log(`Baton media server ${o.id} (${o.region}) metrics on ${server.httpUrl}, hub ${o.hub.join(', ')}`);
    runUntilSignal(() => server.close());
  });

program
  .command('watch')
  .description('Watch an asset headlessly over WebRTC and save it to a file.')
  .addOption(
    opt('--hub <url,…>', 'hub URL, or several hubs of one cluster (the first that answers is used)', 'BATON_HUB', hubUrls, [
      'http://127.0.0.1:8080',
    ]),
  )
  .requiredOption('--asset <id>', 'asset id')
  .requiredOption('--out <file>', 'where to write the received bytes')
  .option('--json', 'print a JSON summary { server, reason, bytes, sha256, ttfbMs }')
  .option('--fast', 'ask for unpaced delivery (as fast as the channel allows) instead of playback pace')
  .addOption(opt('--timeout-ms <ms>', 'give up after this long', 'BATON_WATCH_TIMEOUT_MS', int('timeout-ms', 1000), 120_000))
  .action(async (o) => {
    const { watchToFile } = await import('../delivery/node-viewer.js');
    const { TerminalProgress } = await import('./progress-bar.js');
    const progress = process.stderr.isTTY && !o.json ? new TerminalProgress(process.stderr) : undefined;
    try {
      const r = await watchToFile({
        hubUrl: await firstReachable(o.hub),
        assetId: o.asset,
        out: resolve(o.out),
        fast: Boolean(o.fast),
        timeoutMs: o.timeoutMs,
        onProgress: progress && ((p) => progress.update(p)),
      });
      progress?.clear();
      if (o.json) console.log(JSON.stringify(r));
      else
        console.log(
          `received ${r.bytes} bytes from ${r.server} (${r.reason}), sha256 ${r.sha256}, first byte after ${r.ttfbMs} ms; saved to ${o.out}`,
        );
      process.exit(0);
    } catch (err) {
      progress?.clear();
      const e = err as Error & { code?: string };
      if (o.json) console.log(JSON.stringify({ ok: false, code: e.code ?? 'error', message: e.message }));
      else console.error(`baton watch: ${e.code ? `${e.code}: ` : ''}${e.message}`);
      process.exit(1);
    }
  });

program
  .command('publish')
  .description('Upload a WebM file as a live broadcast to a primary and a backup entry server.')
  .addOption(
    opt('--hub <url,…>', 'hub URL, or several hubs of one cluster (the first that answers is used)', 'BATON_HUB', hubUrls, [
      'http://127.0.0.1:8080',
    ]),
  )
  .requiredOption('--file <path>', 'WebM file to broadcast')
  .requiredOption('--location <text>', 'where you are: a place name ("Lisbon", "Osaka, JP") or "lat,lon"')
  .addOption(opt('--stream-key <key>', 'stream key (required)', 'BATON_STREAM_KEY').makeOptionMandatory())
  .option('--stream-id <id>', 'stream id ([A-Za-z0-9_-], ≤ 64); the hub picks one when absent')
  .option('--title <text>', 'what viewers see instead of the stream id (≤ 200 characters); stored with the recording')
  .option('--description <text>', 'a description (≤ 2,000 characters); stored with the recording')
  .option('--fast', 'upload as fast as the servers allow instead of at the media bitrate')
  .addOption(opt('--speed <x>', 'paced uploads: multiple of the media bitrate', 'BATON_PUBLISH_SPEED', num('speed', 0.1, 1000), 1))
  .addOption(opt('--forwarded-for <ip>', 'send X-Forwarded-For (a hub honours it only from a trusted proxy)', 'BATON_FORWARDED_FOR'))
  .option('--json', 'print a JSON summary { primary, backup, bytes, sha256, … }')
  .action(async (o) => {
    const { publishFile } = await import('../ingest/node-publisher.js');
    const { TerminalProgress, uploadsDetail } = await import('./progress-bar.js');
    const coords = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(o.location);
    const location = coords ? { lat: Number(coords[1]), lon: Number(coords[2]) } : o.location;
    const progress = process.stderr.isTTY && !o.json ? new TerminalProgress(process.stderr) : undefined;
    const note = (line: string) => (progress ? progress.log(line) : console.error(line));
    try {
      const r = await publishFile({
        hubUrl: await firstReachable(o.hub),
        file: resolve(o.file),
        location,
        streamKey: o.streamKey,
        streamId: o.streamId,
        title: o.title,
        description: o.description,
        fast: Boolean(o.fast),
        speed: o.speed,
        forwardedFor: o.forwardedFor,
        onProgress: progress && ((p) => progress.update({ bytes: p.bytes, total: p.total, detail: uploadsDetail(p, p.total) })),
        onAssigned: (p) => {
          if (o.json) return;
          const u = p.uploads();
          note(`stream ${p.streamId}: ${u.map((x) => `${x.role} ${x.serverId} (${x.region})`).join(', ')}`);
          p.addEventListener('failover', (e) => note(`failover: ${e.detail.from} → ${e.detail.to} (${e.detail.role})`));
          p.addEventListener(
            'health',
            (e) => e.detail.error && note(`${e.detail.serverId} failed: ${e.detail.error.code}: ${e.detail.error.message}`),
          );
          p.addEventListener('warning', (e) => note(`warning: ${e.detail.code}: ${e.detail.message}`));
        },
      });
      progress?.clear();
      if (o.json) console.log(JSON.stringify(r));
      else
        console.log(
          `published ${r.streamId}: ${r.bytes} bytes, sha256 ${r.sha256}, stored on ${r.stored.join(' and ')}${r.failovers.length ? ` after ${r.failovers.length} failover(s)` : ''}`,
        );
      process.exit(0);
    } catch (err) {
      progress?.clear();
      const e = err as Error & { code?: string };
      if (o.json) console.log(JSON.stringify({ ok: false, code: e.code ?? 'error', message: e.message }));
      console.error(`baton publish: ${e.code ? `${e.code}: ` : ''}${e.message}`);
      process.exit(1);
    }
  });

program
  .command('demo')
  .description('Run the whole network locally: hub, N media servers with demo media, and the web client.')
  .addOption(opt('--servers <n>', 'number of media servers', 'BATON_DEMO_SERVERS', int('servers', 1, 64), 3))
  .addOption(opt('--port <n>', 'hub port', 'BATON_PORT', int('port', 0, 65535), 8080))
  .addOption(opt('--data-dir <dir>', 'where demo media and server storage live', 'BATON_DATA_DIR', undefined, 'var'))
  .addOption(opt('--cache-mb <n>', 'cache budget per server, MiB', 'BATON_CACHE_MB', num('cache-mb', 0, 1_000_000), 64))
  .addOption(opt('--stream-key <k>', 'stream key accepted for broadcasting', 'BATON_STREAM_KEYS', undefined, 'demo-key'))
  .option('--no-build', 'do not build the web client when it is missing')
  .option('--quiet', 'print only problems (no URLs, no "stopped" line)')
  .action(async (o) => {
    const { runDemo } = await import('./demo.js');
    await runDemo({
      servers: o.servers,
      port: o.port,
      dataDir: resolve(o.dataDir),
      cacheMb: o.cacheMb,
      streamKey: o.streamKey,
      build: o.build,
      quiet: Boolean(o.quiet),
    });
  });

program
  .command('stream-key')
  .description('Mint a signed stream key for broadcasters (accepted by a hub started with the same --stream-key-secret).')
  .addOption(opt('--stream-key-secret <s>', "the hub's stream-key secret (required)", 'BATON_STREAM_KEY_SECRET'))
  .addOption(opt('--stream-key-secret-file <file>', 'read the stream-key secret from this file', 'BATON_STREAM_KEY_SECRET_FILE'))
  .addOption(opt('--valid-minutes <n>', 'how long the key is valid', 'BATON_STREAM_KEY_MINUTES', int('valid-minutes', 1, 525_600), 60))
  .option('--stream-id <id>', 'restrict the key to one stream id')
  .action(async (o) => {
    if (!o.streamKeySecret) throw new InvalidArgumentError('--stream-key-secret (or BATON_STREAM_KEY_SECRET) is required');
    const { mintStreamKey } = await import('../../signaling/policies/stream-key.js');
    console.log(mintStreamKey(o.streamKeySecret, { expiresAtMs: Date.now() + o.validMinutes * 60_000, streamId: o.streamId }));
  });

program
  .command('dev')
  .description('Develop the web client: Vite with hot reload, proxying to a hub and servers restarted on code changes.')
  .addOption(opt('--servers <n>', 'number of media servers', 'BATON_DEMO_SERVERS', int('servers', 1, 64), 3))
  .addOption(opt('--hub-port <n>', 'hub port', 'BATON_PORT', int('hub-port', 1, 65535), 8080))
  .addOption(opt('--vite-port <n>', 'Vite dev server port', 'BATON_VITE_PORT', int('vite-port', 1, 65535), 5173))
  .action(async (o) => {
    const { runDev } = await import('./dev.js');
    await runDev({ servers: o.servers, hubPort: o.hubPort, vitePort: o.vitePort });
  });

program.parseAsync(process.argv).catch((err) => {
  console.error(`baton: ${(err as Error).message}`);
  process.exit(1);
});
