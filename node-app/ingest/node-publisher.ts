// Headless broadcasting from Node through the client SDK's Publisher: a WebM file uploaded as a live stream at its
// bitrate, or WebM piped from a live encoder, sent as it comes.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { openToolSocket } from '../../client-sdk/hub-list.js';
import { allowanceSince } from '../../common/token-bucket.js';
import { Publisher, PublishError, type FailoverInfo, type ProgressInfo } from '../../client-sdk/publisher.js';
import { PROBE_HEAD_BYTES, mimeFor, probeWebm } from '../storage/webm-probe.js';
import { convertToWebm } from '../storage/stored-media.js';
import { startsLikeEbml } from './webm-head-check.js';
import { ClusterIdCount } from './cluster-id-count.js';
import { ClusterStop } from './cluster-stop.js';
import type { IngestLimits } from '../../signaling/protocol/ingest-frames.js';
import { SimplePeer, nodeWrtc, type Wrtc } from '../webrtc/peer.js';

/** A paced upload pushes what is due this often (MediaRecorder timeslices are 100–250 ms). */
export const PACE_TICK_MS = 100;
/** Bitrate assumed for a file that carries no duration (MediaRecorder output). */
export const FALLBACK_BITRATE_BPS = 2_500_000;
/** `--fast` stays this far under the servers' bitrate quota and burst. */
export const QUOTA_MARGIN = 0.9;
/** Reads for `--fast` uploads. */
export const FAST_READ_BYTES = 256 * 1024;
/**
 * ...and at least this much at a time once the quota paces them: sending whatever
 * accrued since the last loop made thousands of tiny chunks a second, which entry
 * servers close as a flood.
 */
const FAST_MIN_CHUNK_BYTES = 16 * 1024;
const FAST_WAIT_MS = 10;
export const HUB_CONNECT_TIMEOUT_MS = 10_000;

export interface PublishFileOptions {
  hubUrl: string;
  /**
   * Keep the hub socket up: after a drop it reconnects with backoff, to the next of [hubUrl, …alternates] each time
   * (several hubs on Redis). The upload itself never passed the hub; what needs it is replacing an entry server that
   * fails (the copy on both ingest servers), which a dead socket could not ask for. Default false: one attempt.
   */
  reconnect?: boolean;
  /** The cluster's other hubs (`hubsOf`, client-sdk/hub-list.ts), tried in turn when `reconnect` is on. */
  alternates?: readonly string[];
  file: string;
  location: string | { lat: number; lon: number; label?: string };
  streamKey: string;
  streamId?: string;
  /** What viewers see instead of the stream id; stored with the recording. */
  title?: string;
  description?: string;
  /** Upload as fast as the servers' quotas allow instead of at the media bitrate. */
  fast?: boolean;
  /** Multiple of the media bitrate for paced uploads. Default 1. */
  speed?: number;
  /** Sent as X-Forwarded-For (honoured only when the hub trusts this machine as a proxy). */
  forwardedFor?: string;
  resendBufferBytes?: number;
  timeoutMs?: number;
  wrtc?: Wrtc;
  iceServers?: RTCIceServer[];
  onProgress?: (p: ProgressInfo & { total: number }) => void;
  /** Each push: stream offset, bytes, when (performance.now()). For latency measurements. */
  onChunk?: (offset: number, bytes: number, atMs: number) => void;
  /** Called once the assignment is known (before any byte is sent). */
  onAssigned?: (p: Publisher) => void;
  /**
   * Ends a file broadcast early (Ctrl-C): the file is sent on to the first Cluster that starts at or after what was
   * sent when it fires (at once when paced, within the quota with `fast`), then ended as at the file's end, finalized
   * on both servers. Not for `publishStream`, whose input's end ends it.
   */
  stop?: AbortSignal;
}

export interface PublishFileResult {
  streamId: string;
  primary: string;
  backup: string | null;
  bytes: number;
  sha256: string;
  /** Servers that finalized byte-identical copies. */
  stored: string[];
  failovers: FailoverInfo[];
  /** Entry servers whose upload failed, and why (e.g. `disk-full`): they hold no copy. */
  failed: { serverId: string; role: 'primary' | 'backup'; code: string; message: string }[];
  /** Bytes put on the wire to all servers (headers and resends included). */
  wireBytes: number;
  elapsedMs: number;
  ipUnknown: boolean;
  /** `stop` ended the broadcast before the file's end (publishFile). */
  interrupted?: boolean;
}

/** Upload `file` as a live broadcast and wait until the servers finalized it. */
export async function publishFile(opts: PublishFileOptions): Promise<PublishFileResult> {
  const fh = await open(opts.file, 'r').catch((err: Error) => {
    throw new PublishError('bad-file', `cannot open ${opts.file}: ${err.message}`);
  });
  try {
    const { size } = await fh.stat();
    if (size === 0) throw new PublishError('bad-file', `${opts.file} is empty`);
    const head = new Uint8Array(Math.min(size, PROBE_HEAD_BYTES));
    await fh.read(head, 0, head.byteLength, 0);
    // An MP4 or any other container: said so, with the command that makes a WebM of it (as the storage scan does).
    if (!startsLikeEbml(head))
      throw new PublishError(
        'bad-file',
        `${opts.file} is not WebM: it does not start with an EBML header; convert it: \`${convertToWebm(opts.file)}\``,
      );
    const r = await publishInput(opts, {
      name: opts.file,
      head,
      size,
      send: (p, bitrateBps) => send(p, fh, size, bitrateBps, opts),
      // A replacement, during the broadcast or after its end, is filled from the file however long it is.
      reread: async (offset, length) => {
        const b = new Uint8Array(length);
        const { bytesRead } = await fh.read(b, 0, length, offset);
        return b.subarray(0, bytesRead);
      },
    });
    return r.bytes < size ? { ...r, interrupted: true } : r;
  } finally {
    await fh.close();
  }
}

export interface PublishStreamOptions extends Omit<PublishFileOptions, 'file' | 'fast' | 'speed'> {
  /** WebM as an encoder writes it live (`ffmpeg … -f webm -`, `gst-launch-1.0 … webmmux streamable=true ! fdsink`). */
  input: AsyncIterable<Uint8Array>;
  /** Named in errors; default `the input`. */
  name?: string;
}

/**
 * Broadcast WebM read from a stream (a pipe from a live encoder) as it comes: each piece is sent when it
 * arrives, so the encoder sets the pace; the broadcast ends, and is finalized, when the input ends.
 */
export async function publishStream(opts: PublishStreamOptions): Promise<PublishFileResult> {
  const name = opts.name ?? 'the input';
  const it = opts.input[Symbol.asyncIterator]();
  // The head: enough of the stream to find its Tracks (the probe needs them for the stream's type).
  const pieces: Uint8Array[] = [];
  let held = 0;
  /** Bytes held at the last look: a pipe that trickles (1 byte a piece) is looked at again only once they double, or a piece is large. */
  let looked = 0;
  let head: Uint8Array;
  for (;;) {
    const next = await it.next();
    if (next.done) throw new PublishError('bad-file', held ? `${name} ended before its Tracks` : `${name} is empty`);
    pieces.push(next.value);
    held += next.value.byteLength;
    if (held < 2 * looked && next.value.byteLength < LOOK_PIECE_BYTES && held < PROBE_HEAD_BYTES) continue;
    looked = held;
    head = Buffer.concat(pieces, held);
    pieces.splice(0, pieces.length, head);
    if (probeWebm(head).complete) break;
    // Said at once: waiting for 256 KiB or the end of a pipe that is not WebM would say less, later.
    if (!startsLikeEbml(head)) throw new PublishError('bad-file', `${name} is not WebM: it does not start with an EBML header`);
    if (held >= PROBE_HEAD_BYTES)
      throw new PublishError('bad-file', `${name} does not look like WebM (no Tracks in its first ${held} bytes)`);
  }
  return publishInput(
    { ...opts, timeoutMs: opts.timeoutMs ?? Number.POSITIVE_INFINITY },
    {
      name,
      head,
      send: async (p) => {
        let at = 0;
        const write = async (b: Uint8Array) => {
          opts.onChunk?.(at, b.byteLength, performance.now());
          at += b.byteLength;
          await p.write(b);
        };
        await write(head);
        for (let next = await it.next(); !next.done; next = await it.next()) if (next.value.byteLength) await write(next.value);
      },
    },
  );
}

/** A piece at least this large is looked at at once (an encoder writes its head in pieces like that). */
const LOOK_PIECE_BYTES = 1024;

interface PublishInput {
  name: string;
  /** The first bytes, with the Tracks. */
  head: Uint8Array;
  /** Known for a file: paces it and bounds the wait. */
  size?: number;
  /** Sends everything (the head too); resolves when the input is all written. */
  send(p: Publisher, bitrateBps: number): Promise<void>;
  /** Reads the input's bytes again (a file): see PublisherOptions.reread. */
  reread?: (offset: number, length: number) => Promise<Uint8Array>;
}

async function publishInput(opts: Omit<PublishFileOptions, 'file'>, input: PublishInput): Promise<PublishFileResult> {
  const t0 = performance.now();
  const tool = openToolSocket({
    ...opts,
    timeoutMs: HUB_CONNECT_TIMEOUT_MS,
    ...(opts.forwardedFor ? { extraHeaders: { 'x-forwarded-for': opts.forwardedFor } } : {}),
  });
  const socket = tool.socket;
  const connected = tool.connected.catch((err: Error) => {
    throw new PublishError('hub-unreachable', err.message);
  });
  connected.catch(() => undefined);
  let publisher: Publisher | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const probe = probeWebm(input.head);
    if (!probe.complete) throw new PublishError('bad-file', `${input.name} does not look like a WebM file (no Tracks found)`);
    const size = input.size;
    const bitrateBps = probe.durationMs && size ? (size * 8 * 1000) / probe.durationMs : FALLBACK_BITRATE_BPS;
    await connected;
    const p = new Publisher({
      socket,
      SimplePeer,
      wrtc: opts.wrtc ?? nodeWrtc,
      streamKey: opts.streamKey,
      location: opts.location,
      streamId: opts.streamId,
      ...(opts.title ? { title: opts.title } : {}),
      ...(opts.description ? { description: opts.description } : {}),
      mime: mimeFor(probe),
      iceServers: opts.iceServers,
      resendBufferBytes: opts.resendBufferBytes,
      hash: () => createHash('sha256'),
      ...(input.reread ? { reread: input.reread } : {}),
    });
    publisher = p;
    const failed: PublishFileResult['failed'] = [];
    p.addEventListener('health', (e) => {
      const u = e.detail;
      if (u.state === 'failed' && u.error)
        failed.push({ serverId: u.serverId, role: u.role, code: u.error.code, message: u.error.message });
    });
    const fatal = new Promise<never>((_, reject) => {
      p.addEventListener('error', (e) => reject(new PublishError(e.detail.code, e.detail.message)));
      const limit = opts.timeoutMs ?? (probe.durationMs ?? ((size ?? 0) * 8 * 1000) / bitrateBps) / (opts.speed ?? 1) + 120_000;
      if (Number.isFinite(limit))
        timer = setTimeout(() => reject(new PublishError('timeout', `the upload did not finish within ${Math.round(limit)} ms`)), limit);
    });
    fatal.catch(() => undefined);
    if (opts.onProgress) p.addEventListener('progress', (e) => opts.onProgress!({ ...e.detail, total: size ?? e.detail.bytes }));
    const reply = await Promise.race([p.start(), fatal]);
    opts.onAssigned?.(p);
    await Promise.race([input.send(p, bitrateBps), fatal]);
    const r = await Promise.race([p.end(), fatal]);
    return {
      streamId: r.streamId,
      primary: reply.primary.serverId,
      backup: reply.backup?.serverId ?? null,
      bytes: r.bytes,
      sha256: r.sha256!,
      stored: r.stored,
      failovers: r.failovers,
      failed,
      wireBytes: p.wireBytes,
      elapsedMs: Math.round(performance.now() - t0),
      ipUnknown: reply.ipUnknown,
    };
  } finally {
    clearTimeout(timer);
    publisher?.close();
    socket.disconnect();
  }
}

/** Feeds the file to the publisher: at the media bitrate (× speed), or as fast as the quotas allow. */
async function send(
  p: Publisher,
  fh: Awaited<ReturnType<typeof open>>,
  size: number,
  bitrateBps: number,
  opts: PublishFileOptions,
): Promise<void> {
  const started = performance.now();
  // `--fast` paces to the quota line less what the Clusters sent so far are charged (`IngestLimits.clusterBytes`).
  const ids = new ClusterIdCount();
  const quotaLine = (l: IngestLimits) =>
    QUOTA_MARGIN * allowanceSince(l.burstBytes, l.maxBitrateBps / 8, performance.now() - started) - ids.count * (l.clusterBytes ?? 0);
  // Where the upload ends: the file's end, or the Cluster boundary a stop found.
  let end = size;
  const cut = new ClusterStop();
  let at = 0;
  while (at < end) {
    if (opts.stop?.aborted && !cut.stopping) end = await stopAt(cut, fh, at, size, opts.file);
    const elapsedS = (performance.now() - started) / 1000;
    let due: number;
    if (opts.fast) {
      const l = p.limits;
      due = l ? quotaLine(l) : at + FAST_READ_BYTES;
    } else {
      // A stopped broadcast ends at once: what is left is the rest of one Cluster.
      due = cut.stopping ? end : ((bitrateBps * (opts.speed ?? 1)) / 8) * (elapsedS + PACE_TICK_MS / 1000);
    }
    const n = Math.min(end - at, Math.floor(due) - at, opts.fast ? FAST_READ_BYTES : Number.MAX_SAFE_INTEGER);
    if (n <= 0 || (opts.fast && n < Math.min(end - at, FAST_MIN_CHUNK_BYTES))) {
      await new Promise((r) => setTimeout(r, opts.fast ? FAST_WAIT_MS : PACE_TICK_MS));
      continue;
    }
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, at);
    if (bytesRead !== n) throw new PublishError('bad-file', `${opts.file} changed while it was being read`);
    ids.push(buf);
    // Once stopping, the index has looked ahead past these bytes already.
    if (!cut.stopping) cut.push(buf);
    // This piece's own Clusters are charged too: it goes once the quota covers them.
    for (let l = p.limits; opts.fast && l?.clusterBytes && quotaLine(l) < at + n; l = p.limits)
      await new Promise((r) => setTimeout(r, FAST_WAIT_MS));
    opts.onChunk?.(at, n, performance.now());
    await p.write(buf);
    at += n;
    if (!opts.fast) await new Promise((r) => setTimeout(r, PACE_TICK_MS));
  }
}

/** Stopped at `at`: reads on until `cut` knows the Cluster boundary to end at (or the file ends), and returns it. */
async function stopAt(cut: ClusterStop, fh: Awaited<ReturnType<typeof open>>, at: number, size: number, file: string): Promise<number> {
  cut.stop();
  for (let looked = at; cut.boundary === undefined && looked < size; ) {
    const b = new Uint8Array(Math.min(FAST_READ_BYTES, size - looked));
    const { bytesRead } = await fh.read(b, 0, b.byteLength, looked);
    if (bytesRead !== b.byteLength) throw new PublishError('bad-file', `${file} changed while it was being read`);
    cut.push(b);
    looked += bytesRead;
  }
  return cut.boundary ?? size;
}
