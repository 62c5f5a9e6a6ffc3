// `baton server`: a media server's flags, and starting it.
import { mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_LOAD_WEIGHTS } from '../../signaling/protocol/load-factor.js';
import { DEFAULT_LOAD_BOUND } from '../director/select.js';
import { DEFAULT_MAX_INGEST_SESSIONS, UNCONNECTED_SESSION_MS } from '../slot-defaults.js';
import { DEFAULT_HUB_RETURN_MS } from '../server/hub-defaults.js';
import { heartbeatMsSchema, serverDescriptorSchema } from '../../signaling/protocol/messages.js';
import {
  assetId,
  hubUrls,
  iceAllow,
  iceServers,
  int,
  intOf,
  loadBound,
  loadWeights,
  num,
  opt,
  secondsOrOff,
  textOf,
  timerMs,
  weightsText,
} from './parsers.js';

/** What the hub checks a registration with: the flags that end up in it are bounded by it. */
const descriptor = serverDescriptorSchema.shape;
import { runUntilSignal } from './run-until-signal.js';

/** Adds `baton server` (a media server) to `program`. */
export function addServerCommand(program: Command): void {
  program
    .command('server')
    .description('Run a media server: storage, adaptable cache, director role, WebRTC delivery.')
    .addOption(opt('--config <file>', 'JSON config file (keys = flags in camelCase)', 'BATON_CONFIG'))
    .addOption(
      opt('--hub <url,…>', 'hub URL, or several hubs of one cluster (moves to the next when one disappears)', 'BATON_HUB', hubUrls, [
        'http://127.0.0.1:8080',
      ]),
    )
    .addOption(
      opt(
        '--cluster-secret <s>',
        'shared cluster secret (this or --server-key is required, ≥ 16 bytes; prefer the -file form)',
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
        '--server-key <k>',
        "this server's own key instead of the cluster secret (`baton server-key --id ID`): it signs for this --id only",
        'BATON_SERVER_KEY',
      ),
    )
    .addOption(
      opt('--server-key-file <file>', 'read the server key from this file (a trailing newline is dropped)', 'BATON_SERVER_KEY_FILE'),
    )
    .addOption(opt('--id <id>', 'server id ([A-Za-z0-9_-], ≤ 64; required)', 'BATON_SERVER_ID', assetId))
    .addOption(opt('--region <name>', 'region name', 'BATON_REGION', textOf('region', descriptor.region), 'local'))
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
    .addOption(
      opt(
        '--max-sessions <n>',
        'most concurrent viewer sessions',
        'BATON_MAX_SESSIONS',
        intOf('max-sessions', descriptor.maxSessions),
        100,
      ),
    )
    .addOption(
      opt(
        '--max-ingest-sessions <n>',
        'most concurrent broadcast (ingest) sessions, apart from viewers',
        'BATON_MAX_INGEST_SESSIONS',
        int('max-ingest-sessions', 1, descriptor.maxIngestSessions.unwrap().maxValue ?? 0),
        DEFAULT_MAX_INGEST_SESSIONS,
      ),
    )
    .addOption(
      opt(
        '--unconnected-session-ms <ms>',
        'close a viewer session whose WebRTC connection is not up this long after it opened',
        'BATON_UNCONNECTED_SESSION_MS',
        timerMs('unconnected-session-ms', 100, 600_000),
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
    .addOption(
      opt(
        '--hub-return-s <s|off>',
        'several hubs: after a failover, register with the first --hub again once it has been up this long (× 1–1.5); "off": stay',
        'BATON_HUB_RETURN_S',
        secondsOrOff('hub-return-s', 1, 86_400),
        DEFAULT_HUB_RETURN_MS / 1000,
      ),
    )
    .addOption(
      opt(
        '--heartbeat-ms <ms>',
        "heartbeat period (at most the hub's --heartbeat-ms, which refuses a server that beats less often)",
        'BATON_HEARTBEAT_MS',
        intOf('heartbeat-ms', heartbeatMsSchema),
        1000,
      ),
    )
    .addOption(
      opt(
        '--http-port <n>',
        'port of the HTTP side: /media, /poster, /healthz, /metrics, /api/table, /api/status (0 = any free port)',
        'BATON_HTTP_PORT',
        int('http-port', 0, 65535),
        0,
      ),
    )
    .addOption(opt('--http-host <addr>', 'interface for the HTTP side', 'BATON_HTTP_HOST', undefined, '127.0.0.1'))
    .addOption(
      opt(
        '--http-rate <n>',
        'requests per second per client address on the HTTP side, every path (bursts of twice that; a proxy in front counts as one address)',
        'BATON_HTTP_RATE',
        int('http-rate', 1, 1_000_000),
        100,
      ),
    )
    .addOption(
      opt(
        '--operator-token <t>',
        'token for /metrics, /api/table and /api/status on the HTTP side (≥ 16 bytes; without one they are open to this machine on a loopback --http-host, closed elsewhere); /media, /poster and /healthz stay public',
        'BATON_OPERATOR_TOKEN',
      ),
    )
    .addOption(opt('--operator-token-file <file>', 'read the operator token from this file', 'BATON_OPERATOR_TOKEN_FILE'))
    .addOption(
      opt(
        '--load-weights <w>',
        'load factor weights, sessions=N,egress=N,cpu=N or that as a JSON object (used when this server is director)',
        'BATON_LOAD_WEIGHTS',
        loadWeights,
      ).default(
        { sessions: DEFAULT_LOAD_WEIGHTS.sessions, egress: DEFAULT_LOAD_WEIGHTS.egress, cpu: DEFAULT_LOAD_WEIGHTS.cpu },
        weightsText(DEFAULT_LOAD_WEIGHTS),
      ),
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
        timerMs('slow-viewer-ms', 100, 3_600_000),
        20_000,
      ),
    )
    .addOption(
      opt(
        '--stall-timeout-ms <ms>',
        'drop a viewer whose channel accepts nothing for this long',
        'BATON_STALL_TIMEOUT_MS',
        timerMs('stall-timeout-ms', 100, 3_600_000),
        15_000,
      ),
    )
    .addOption(
      opt(
        '--idle-timeout-ms <ms>',
        'close a viewer session paused (or at the edge of a live stream that does not grow) this long; one at the end of a stored asset after at most 10 s',
        'BATON_IDLE_TIMEOUT_MS',
        timerMs('idle-timeout-ms', 1_000, 3_600_000),
        120_000,
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
        '--no-renditions',
        "make no renditions (by default ffmpeg makes <id>__240p.webm and the other rungs below each stored video asset's height, for adaptive playback)",
        'BATON_NO_RENDITIONS',
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
    .addOption(
      opt(
        '--whip-buffer-mb <n>',
        "memory each WHIP broadcast's relay holds for its uploads, MiB; a replacement entry server gets older bytes from this server's copy on disk",
        'BATON_WHIP_BUFFER_MB',
        num('whip-buffer-mb', 0.25, 1024),
        64,
      ),
    )
    .action(async (o) => {
      const { MediaServer } = await import('../media-server.js');
      const storageDir = prepareStorage(resolve(o.storage));
      const server = new MediaServer({
        hubUrl: o.hub,
        clusterSecret: o.clusterSecret,
        serverKey: o.serverKey,
        id: o.id,
        region: o.region,
        lat: o.lat,
        lon: o.lon,
        storageDir,
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
        hubReturnAfterMs: o.hubReturnS === 'off' ? null : o.hubReturnS * 1000,
        httpPort: o.httpPort,
        httpHost: o.httpHost,
        httpRatePerS: o.httpRate,
        operatorToken: o.operatorToken,
        iceServers: o.iceServers,
        rtcBindAddress: o.rtcBindAddress,
        whipResendBufferBytes: Math.round(o.whipBufferMb * 1024 * 1024),
        sessionTimeouts: { slowMs: o.slowViewerMs, stallMs: o.stallTimeoutMs, idleMs: o.idleTimeoutMs },
        allowFast: Boolean(o.allowFast),
        posters: o.posters !== false,
        renditions: o.renditions !== false,
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
}

/**
 * The storage directory, made when it is missing (a fresh server, or a typo: said on stderr either way,
 * since a server on an empty directory serves nothing); a path that is not a directory stops the start.
 */
function prepareStorage(dir: string): string {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw new Error(`--storage ${dir} is not a directory`);
  if (!st) {
    mkdirSync(dir, { recursive: true });
    console.error(`baton server: storage directory ${dir} did not exist; created it (empty)`);
  }
  return dir;
}
