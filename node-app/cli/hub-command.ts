// `baton hub`: the signaling hub's flags, and starting it.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { PROJECT_ROOT } from '../project-root.js';
import { DEFAULT_SESSION_LIMITS } from '../../signaling/core/session-registry.js';
import { MAX_CONNECTIONS, MAX_CONNECTIONS_PER_IP } from '../../common/connection-caps.js';
import { DEFAULT_MAX_BROADCASTS_PER_KEY } from '../../signaling/stream-owners.js';
import { heartbeatMsSchema } from '../../signaling/protocol/messages.js';
import { addressList, hubId, iceServers, int, intOf, list, opt, publicUrl, redisUrl, timerMs } from './parsers.js';
import { runUntilSignal } from './run-until-signal.js';

/** The package's own build of the web client, wherever the hub is started from. */
const DEFAULT_WEB_DIR = join(PROJECT_ROOT, 'dist/web');

/** Adds `baton hub` (the signaling hub) to `program`. */
export function addHubCommand(program: Command): void {
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
        'expected server heartbeat period; 3 missed = removed (a server with a longer --heartbeat-ms is refused)',
        'BATON_HEARTBEAT_MS',
        intOf('heartbeat-ms', heartbeatMsSchema),
        1000,
      ),
    )
    .addOption(
      opt(
        '--rotation-ms <ms>',
        'director rotation period (0 = only on failure)',
        'BATON_ROTATION_MS',
        timerMs('rotation-ms', 0, 86_400_000),
        30_000,
      ),
    )
    .addOption(
      opt(
        '--director-timeout-ms <ms>',
        'how long to wait for the director before rotating (each later ask of the same request waits twice as long)',
        'BATON_DIRECTOR_TIMEOUT_MS',
        timerMs('director-timeout-ms', 10, 60_000),
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
    .addOption(opt('--trusted-proxies <ip1,ip2>', 'peers whose X-Forwarded-For is honoured', 'BATON_TRUSTED_PROXIES', addressList, []))
    .addOption(
      opt(
        '--cluster-addresses <cidr1,cidr2>',
        'where media servers connect from (addresses, CIDR ranges, loopback, private): not capped per address, and a tenth of --max-connections is kept for them (default loopback; a list replaces it)',
        'BATON_CLUSTER_ADDRESSES',
        addressList,
      ),
    )
    .addOption(
      // The package's own build, wherever the hub is started from (a relative default would depend on the working directory).
      opt('--static-dir <dir>', 'built web client to serve at /', 'BATON_STATIC_DIR').default(
        DEFAULT_WEB_DIR,
        "the Baton package's dist/web",
      ),
    )
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
        '--max-broadcasts-per-key <n>',
        'broadcasts one stream key may have live at once, WHIP included (with --redis: across all hubs; 0: no cap)',
        'BATON_MAX_BROADCASTS_PER_KEY',
        int('max-broadcasts-per-key', 0, 1_000_000),
        DEFAULT_MAX_BROADCASTS_PER_KEY,
      ),
    )
    .addOption(
      opt(
        '--max-connections-per-ip <n>',
        'open TCP connections one client address may hold (loopback and trusted proxies are not capped per address; 0: no cap)',
        'BATON_MAX_CONNECTIONS_PER_IP',
        int('max-connections-per-ip', 0, 1_000_000),
        MAX_CONNECTIONS_PER_IP,
      ),
    )
    .addOption(
      opt(
        '--max-connections <n>',
        'open TCP connections in all (keep it under the file descriptor limit; 0: no cap)',
        'BATON_MAX_CONNECTIONS',
        int('max-connections', 0, 1_000_000),
        MAX_CONNECTIONS,
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
    .addOption(
      opt('--redis-prefix <p>', 'key prefix in Redis (two clusters can share one Redis)', 'BATON_REDIS_PREFIX', undefined, 'baton:'),
    )
    .addOption(
      opt(
        '--lease-ms <ms>',
        'with --redis: how long the rotation lease lasts; another hub takes over within about this after its holder dies',
        'BATON_LEASE_MS',
        timerMs('lease-ms', 300, 60_000),
        3_000,
      ),
    )
    .addOption(
      opt(
        '--hub-id <id>',
        "this hub's name among several, one per live hub: a second hub with the id of a live one stops (default hub-<random>)",
        'BATON_HUB_ID',
        hubId,
      ),
    )
    .addOption(
      opt(
        '--public-url <url>',
        'the URL browsers and media servers reach this hub at (e.g. behind a TLS proxy); it is what the hub list hands out (default: the address it listens on)',
        'BATON_PUBLIC_URL',
        publicUrl,
      ),
    )
    .action(async (o) => {
      const { Hub } = await import('../../signaling/hub.js');
      // An empty value means the default (settings.ts, applyEmptyEnv): never the working directory.
      const web = resolve(o.staticDir);
      const hub = new Hub({
        redisUrl: o.redis,
        redisPrefix: o.redisPrefix,
        hubId: o.hubId,
        onDisplaced: (err) => {
          // No clean stop: what it would release in Redis (lease, hub list, inbox) belongs to the process that took the id.
          console.error(`baton hub: ${err.message}`);
          process.exit(1);
        },
        publicUrl: o.publicUrl,
        leaseMs: o.leaseMs,
        port: o.port,
        host: o.host,
        clusterSecret: o.clusterSecret,
        heartbeatMs: o.heartbeatMs,
        rotationMs: o.rotationMs,
        directorTimeoutMs: o.directorTimeoutMs,
        streamKeys: o.streamKeys,
        trustedProxies: o.trustedProxies,
        clusterAddresses: o.clusterAddresses,
        staticDir: web,
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
        maxBroadcastsPerKey: o.maxBroadcastsPerKey,
        connectionsPerIp: o.maxConnectionsPerIp,
        maxConnections: o.maxConnections,
      });
      const url = await hub.start();
      console.log(`Baton hub listening on ${url}`);
      console.log(existsSync(web) ? `Web client: ${web}` : `No web client at ${web} (run \`npm run build\`, or give --static-dir)`);
      runUntilSignal(() => hub.close());
    });
}
