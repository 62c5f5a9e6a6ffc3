// What a MediaServer is configured with (the `baton server` flags, merged with settings and defaults).
import type { LoadWeights } from '../../signaling/protocol/index.js';
import type { CachePolicy } from '../cache/index.js';
import type { ServeSessionOptions } from '../delivery/serve-options.js';
import type { Wrtc } from '../webrtc/peer.js';

export interface MediaServerOptions {
  /** The hub, or several hubs of one cluster (the server moves to the next when its hub disappears). */
  hubUrl: string | readonly string[];
  /**
   * What this server signs its hub tokens with: the cluster secret, or only its own key (`serverKeyFor(secret, id)`,
   * printed by `baton server-key`), with which it can sign for its own id and no other. One of the two.
   */
  clusterSecret?: string;
  serverKey?: string;
  id: string;
  region: string;
  lat: number;
  lon: number;
  storageDir: string;
  cacheMb: number;
  /** Viewer session slots. */
  maxSessions: number;
  /** Broadcast session slots, apart from viewers' (default `DEFAULT_MAX_INGEST_SESSIONS`). */
  maxIngestSessions?: number;
  uplinkMbps: number;
  ingest: boolean;
  /** Per-stream ingest quotas: average Mbit/s (default 25) and MiB (default 8192). */
  ingestMaxMbps?: number;
  ingestMaxMb?: number;
  /** Cache policy: the interval cache (default) or LRU for comparison. */
  /** Cache policy (default `gic`: generalized interval caching). */
  cachePolicy?: CachePolicy;
  heartbeatMs?: number;
  /** Several hubs: return to the first hub after a failover once it has been up this long (`HubLinkOptions.returnAfterMs`). */
  hubReturnAfterMs?: number | null;
  /** Port of the server's own HTTP side (metrics, health); 0 = any free port. */
  httpPort?: number;
  httpHost?: string;
  /** Requests per second per client address on the HTTP side (bursts of twice that); default MEDIA_HTTP_RATE_PER_S. */
  httpRatePerS?: number;
  /**
   * Token for the HTTP side's operator views (/metrics, /api/table, /api/status), as the hub's `--operator-token`.
   * Without one they answer only direct requests from this machine, and only when `httpHost` is loopback.
   */
  operatorToken?: string;
  weights?: LoadWeights;
  /**
   * ε of the director's bounded loads (`SelectOptions.loadBound`); null turns
   * the relative bound off (absolute threshold only). Default `DEFAULT_LOAD_BOUND`.
   */
  loadBound?: number | null;
  /** WebRTC implementation for simple-peer (default: node-datachannel's polyfill). */
  wrtc?: Wrtc;
  iceServers?: RTCIceServer[];
  /** Local address WHIP publishers' ICE binds to (e.g. 127.0.0.1 in tests); all interfaces by default. */
  rtcBindAddress?: string;
  /**
   * Memory each WHIP broadcast's relay holds for its uploads, bytes (default the Publisher's RESEND_BUFFER_BYTES): older
   * bytes a replacement entry server needs are read back from this server's own copy on disk.
   */
  whipResendBufferBytes?: number;
  /** Viewer-session timeouts (connect, stall, idle, slow viewer); ServeSession's defaults otherwise. */
  sessionTimeouts?: ServeSessionOptions['timeouts'];
  /**
   * A viewer session with no WebRTC connection this long after it was opened is
   * closed, its slot freed and the hub told (default `CONNECT_TIMEOUT_MS`, 5 s);
   * wins over `sessionTimeouts.connectMs`.
   */
  unconnectedSessionMs?: number;
  /** Viewers that ask for `fast` get unpaced delivery (`--allow-fast`). Default false: every viewer is paced. */
  allowFast?: boolean;
  /**
   * CIDRs (parseIceAllow) whose remote ICE candidates are probed although they are
   * loopback/private (`--ice-allow`). Hostname candidates are never probed.
   */
  iceAllow?: string[];
  /** Make poster pictures (ffmpeg, first keyframe) for stored assets that have none. Default true. */
  posters?: boolean;
  /** Make smaller renditions (ffmpeg, VP8 + Opus) of stored video assets for adaptive playback. Default false; the CLI turns it on. */
  renditions?: boolean;
}
