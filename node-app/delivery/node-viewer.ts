// Headless viewing from Node: the browser's Viewer over socket.io-client and node-datachannel, saved or hashed.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openToolSocket } from '../../client-sdk/hub-list.js';
import type { SelectReason } from '../../signaling/protocol/types.js';
import { Viewer, type FailoverInfo } from '../../client-sdk/viewer.js';
import { SimplePeer, nodeWrtc, type Wrtc } from '../webrtc/peer.js';
import { FileSink } from './file-sink.js';
import { CodedError } from '../../common/coded-error.js';

/** Whole-watch limit unless the caller gives one. */
export const DEFAULT_WATCH_TIMEOUT_MS = 120_000;
/** Connecting to the hub's /client namespace. */
export const HUB_CONNECT_TIMEOUT_MS = 10_000;

export interface WatchOptions {
  /** Hub base URL, e.g. `http://127.0.0.1:8080`. */
  hubUrl: string;
  /**
   * Keep the hub socket up: after a drop it reconnects with backoff, to the next of [hubUrl, …alternates] each time
   * (several hubs on Redis), and the watch goes on — the media never passed the hub, and a failover to another server
   * while the hub was away is asked once the socket is back. Default false: one attempt, and a drop fails the watch's
   * next request (benchmarks and tests that want the fast failure).
   */
  reconnect?: boolean;
  /** The cluster's other hubs (`hubsOf`, client-sdk/hub-list.ts), tried in turn when `reconnect` is on. */
  alternates?: readonly string[];
  assetId: string;
  offset?: number;
  /** Ask for unpaced delivery. Default false (paced like a player). */
  fast?: boolean;
  /** Servers the first request passes over (`ViewerOptions.avoid`). */
  avoid?: string[];
  /** Deliver no faster than this, bits per second (`ViewerOptions.limitBps`). */
  limitBps?: number;
  /** Give up after this long (default DEFAULT_WATCH_TIMEOUT_MS): the whole watch, or with `timeout: 'stall'` the time without a byte. */
  timeoutMs?: number;
  /**
   * What `timeoutMs` bounds: `'whole'` (default) the watch from its start to its end; `'stall'` the time since the
   * last byte (or the start): a paced watch of a long asset, or a live stream, goes on as long as bytes come.
   */
  timeout?: 'whole' | 'stall';
  /** A stop (`signal`) during a live stream keeps what arrived in `out`, as a recorder does: a WebM that plays to there. */
  keepLiveOnStop?: boolean;
  wrtc?: Wrtc;
  iceServers?: RTCIceServer[];
  /** Abandons the watch (Ctrl-C): it rejects with a WatchError `aborted`, and `watchToFile` leaves no file. */
  signal?: AbortSignal;
  /** After each in-order chunk: bytes so far and the asset's size (null while it is live and growing). */
  onProgress?: (p: { bytes: number; total: number | null }) => void;
  /** Each `meta` the server sends: whether the asset is live (a growing broadcast). */
  onMeta?: (m: { live: boolean }) => void;
}

export interface WatchResult {
  /** The server the first bytes came from. */
  server: string;
  reason: SelectReason;
  bytes: number;
  sha256: string;
  /** From the call to the first media byte, ms. */
  ttfbMs: number;
  /** From the call to the end, ms. */
  totalMs: number;
  failovers: FailoverInfo[];
}

export class WatchError extends CodedError {
  override readonly name = 'WatchError';
  /** Bytes kept in `out` when a stopped live watch kept what arrived (`keepLiveOnStop`); else undefined. */
  savedBytes?: number;
}

/**
 * Watch `assetId` to the end and save the bytes to `out` (written only on success; or, with `keepLiveOnStop`, when a
 * live stream's watch is stopped after bytes arrived: then it rejects `aborted` with `savedBytes`).
 */
export async function watchToFile(opts: WatchOptions & { out: string }): Promise<WatchResult> {
  const sink = new FileSink(opts.out);
  let live = false;
  let written = 0;
  try {
    // The disk is slower than the network: the sink holds the server off rather than buffer.
    const result = await Promise.race([
      watchStream(
        {
          ...opts,
          onMeta: (m) => {
            live = m.live;
            opts.onMeta?.(m);
          },
        },
        (bytes, viewer) => {
          written += bytes.byteLength;
          sink.write(bytes, viewer);
        },
      ),
      sink.failed,
      abortedBy(opts.signal),
    ]);
    await sink.commit();
    return result;
  } catch (err) {
    if (opts.keepLiveOnStop && live && written > 0 && err instanceof WatchError && err.code === 'aborted') {
      // Every byte handed to the sink is in order from the start: the file is the broadcast up to the stop.
      await sink.commit();
      err.savedBytes = written;
      throw err;
    }
    await sink.discard();
    throw err;
  }
}

/** Rejects with a WatchError `aborted` once `signal` aborts (at once if it has); never settles without one. */
function abortedBy(signal: AbortSignal | undefined): Promise<never> {
  const p = new Promise<never>((_, reject) => {
    const abort = () => reject(new WatchError('aborted', 'the watch was abandoned'));
    if (signal?.aborted) abort();
    else signal?.addEventListener('abort', abort, { once: true });
  });
  p.catch(() => undefined);
  return p;
}

/** Watch `assetId` to the end, handing every in-order chunk to `onData`. */
export async function watchStream(opts: WatchOptions, onData: (bytes: Uint8Array, viewer: Viewer) => void): Promise<WatchResult> {
  const t0 = performance.now();
  const { socket, connected } = openToolSocket({ ...opts, timeoutMs: HUB_CONNECT_TIMEOUT_MS });
  let viewer: Viewer | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const aborted = abortedBy(opts.signal);
    await Promise.race([
      connected.catch((err: Error) => {
        throw new WatchError('hub-unreachable', err.message);
      }),
      aborted,
    ]);
    const v = new Viewer({
      socket,
      assetId: opts.assetId,
      SimplePeer,
      wrtc: opts.wrtc ?? nodeWrtc,
      offset: opts.offset,
      iceServers: opts.iceServers,
      fast: opts.fast,
      avoid: opts.avoid,
      ...(opts.limitBps !== undefined ? { limitBps: opts.limitBps } : {}),
    });
    viewer = v;
    const hash = createHash('sha256');
    let first: { server: string; reason: SelectReason } | undefined;
    let ttfbMs = -1;
    let total: number | null = null;
    const failovers: FailoverInfo[] = [];
    const timeoutMs = opts.timeoutMs ?? DEFAULT_WATCH_TIMEOUT_MS;
    const done = new Promise<WatchResult>((resolveDone, reject) => {
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(
          () =>
            reject(
              new WatchError(
                'timeout',
                opts.timeout === 'stall'
                  ? `nothing of ${opts.assetId} arrived for ${timeoutMs} ms`
                  : `no end of ${opts.assetId} within ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
      };
      arm();
      v.addEventListener('selected', (e) => {
        first ??= { server: e.detail.server.id, reason: e.detail.reason };
      });
      v.addEventListener('meta', (e) => {
        total = e.detail.live ? null : e.detail.bytes;
        opts.onMeta?.({ live: e.detail.live });
      });
      v.addEventListener('data', (e) => {
        if (opts.timeout === 'stall') arm();
        if (ttfbMs < 0) ttfbMs = performance.now() - t0;
        hash.update(e.detail.bytes);
        onData(e.detail.bytes, v);
        opts.onProgress?.({ bytes: v.bytesReceived, total });
      });
      v.addEventListener('failover', (e) => failovers.push(e.detail));
      v.addEventListener('error', (e) => reject(new WatchError(e.detail.code, e.detail.message)));
      v.addEventListener('end', () =>
        resolveDone({
          server: first?.server ?? '',
          reason: first?.reason ?? 'storage',
          bytes: v.bytesReceived,
          sha256: hash.digest('hex'),
          ttfbMs: Math.round(Math.max(0, ttfbMs)),
          totalMs: Math.round(performance.now() - t0),
          failovers,
        }),
      );
    });
    v.start();
    return await Promise.race([done, aborted]);
  } finally {
    clearTimeout(timer);
    viewer?.close();
    socket.disconnect();
  }
}

// Runnable, for benchmarks that need viewers in their own processes:
// `node --import tsx node-app/delivery/node-viewer.ts --hub URL --asset ID [--fast] [--out FILE]`
// prints the WatchResult as one JSON line.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const hubUrl = arg('--hub');
  const assetId = arg('--asset');
  if (!hubUrl || !assetId) {
    console.error('usage: node-viewer.ts --hub URL --asset ID [--fast] [--out FILE]');
    process.exit(2);
  }
  const out = arg('--out');
  const opts: WatchOptions = { hubUrl, assetId, fast: process.argv.includes('--fast') };
  (out ? watchToFile({ ...opts, out }) : watchStream(opts, () => undefined)).then(
    (r) => {
      // Wall-clock marks let a benchmark line several viewer processes up.
      const endAtMs = Date.now();
      console.log(JSON.stringify({ ok: true, ...r, endAtMs, firstByteAtMs: endAtMs - (r.totalMs - r.ttfbMs) }));
      process.exit(0);
    },
    (err: WatchError) => {
      console.log(JSON.stringify({ ok: false, code: err.code ?? 'error', message: err.message }));
      process.exit(1);
    },
  );
}
