// Plain HTTP delivery of stored assets (GET /media/<id>.webm, with ranges): the
// baseline Baton's WebRTC path is measured against, and a fallback for tools.
import { constants, createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import parseRange from 'range-parser';
import { addressKey } from '../../common/address-key.js';
import { decrementCount } from '../../common/counts.js';
import { isLoopbackIp } from '../../common/loopback-ip.js';
import { isAssetId } from '../../signaling/protocol/ids.js';
import type { DiskStore } from '../storage/disk-store.js';

/**
 * `GET /media` answers with bytes under way at once, in all and per client address (an IPv6 /64 as one; loopback is
 * not capped per address, as everywhere). The answers are not paced, as the WebRTC path is: before, one anonymous
 * client's 16 connections took 1.7 Gbit/s from a server declaring a 1,000 Mbit/s uplink.
 */
export const MAX_HTTP_MEDIA_DOWNLOADS = 16;
export const MAX_HTTP_MEDIA_DOWNLOADS_PER_IP = 2;
/**
 * What one client address (an IPv6 /64 as one; loopback is not paced: a proxy or a tool on this machine, many
 * clients behind one address, held only by the total of downloads) receives from `/media` once its first
 * HTTP_MEDIA_BURST_BYTES went at once, all its downloads together: 50 Mbit/s, twice the highest bitrate a broadcast
 * may have (`--ingest-max-mbps` 25), so a player reading a file as it plays never waits. Unpaced, one client took what
 * the link gave (1.6 Gbit/s on loopback) from the uplink every viewer shares. Addresses remembered: 10,000 (the least
 * recent forgotten: it starts again with a full burst).
 */
export const HTTP_MEDIA_BYTES_PER_S = 6_250_000;
export const HTTP_MEDIA_BURST_BYTES = 8 * 1024 * 1024;
const MAX_PACED_ADDRESSES = 10_000;

/**
 * An address's allowance: `tokens` bytes (at most the burst; below 0, a debt its next bytes wait out), refilled at the
 * pace since `atMs`. Charges `bytes` at `nowMs` and answers how long they wait (0: sent now).
 */
export function chargeBytes(
  state: { tokens: number; atMs: number },
  bytes: number,
  nowMs: number,
  bytesPerS: number,
  burstBytes: number,
): number {
  state.tokens = Math.min(burstBytes, state.tokens + (bytesPerS * Math.max(0, nowMs - state.atMs)) / 1000) - bytes;
  state.atMs = nowMs;
  return state.tokens < 0 ? Math.ceil((-state.tokens * 1000) / bytesPerS) : 0;
}

/**
 * The `/media` answers under way: bounded (503 in all, 429 per address, both with Retry-After), and their bytes counted
 * by `sent` as the server's egress, so that the load it reports (and the director's choice) sees them; before, the
 * server reported 0 Mbit/s while sending 1.7 Gbit/s over HTTP.
 */
export class MediaDownloads {
  readonly #max: number;
  readonly #maxPerIp: number;
  readonly #sent: (bytes: number) => void;
  /** Each download's pace and burst. */
  readonly bytesPerS: number;
  readonly burstBytes: number;
  readonly #perIp = new Map<string, number>();
  /** Each address's byte allowance (Map order: least recently charged first). */
  readonly #allowance = new Map<string, { tokens: number; atMs: number }>();
  /** Addresses whose downloads are not paced (loopback by default). */
  readonly #unpaced: (address: string) => boolean;
  #open = 0;

  constructor(
    o: {
      max?: number;
      maxPerIp?: number;
      sent?: (bytes: number) => void;
      bytesPerS?: number;
      burstBytes?: number;
      unpaced?: (address: string) => boolean;
    } = {},
  ) {
    this.#unpaced = o.unpaced ?? isLoopbackIp;
    this.bytesPerS = o.bytesPerS ?? HTTP_MEDIA_BYTES_PER_S;
    this.burstBytes = o.burstBytes ?? HTTP_MEDIA_BURST_BYTES;
    this.#max = o.max ?? MAX_HTTP_MEDIA_DOWNLOADS;
    this.#maxPerIp = o.maxPerIp ?? MAX_HTTP_MEDIA_DOWNLOADS_PER_IP;
    this.#sent = o.sent ?? (() => undefined);
  }

  /** Answers under way. */
  get size(): number {
    return this.#open;
  }

  /** Client addresses with an answer under way. */
  get addresses(): number {
    return this.#perIp.size;
  }

  /** Takes a slot for `res` until it closes; false (answered 503 or 429) when none is free. */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    const from = (req.socket.remoteAddress ?? '').replace(/^::ffff:/i, '');
    const ip = addressKey(from);
    const capped = !isLoopbackIp(from);
    if (capped && (this.#perIp.get(ip) ?? 0) >= this.#maxPerIp)
      return busy(res, 429, `this address downloads ${this.#maxPerIp} media files already`);
    if (this.#open >= this.#max) return busy(res, 503, `this server sends ${this.#max} media downloads already`);
    this.#open++;
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      this.#open--;
      decrementCount(this.#perIp, ip);
      req.socket.off('close', release);
    };
    res.once('close', release);
    // A response still queued behind others never hears `close` when the connection goes; its socket does.
    req.socket.once('close', release);
    return true;
  }

  /** Media bytes handed to a connection. */
  sent(bytes: number): void {
    this.#sent(bytes);
  }

  /** Charges `bytes` to the address `req` came from; how long they wait first (ms). */
  charge(req: IncomingMessage, bytes: number, nowMs: number): number {
    const from = (req.socket.remoteAddress ?? '').replace(/^::ffff:/i, '');
    if (this.#unpaced(from)) return 0;
    const key = addressKey(from);
    let a = this.#allowance.get(key);
    if (a) this.#allowance.delete(key);
    else {
      a = { tokens: this.burstBytes, atMs: nowMs };
      if (this.#allowance.size >= MAX_PACED_ADDRESSES) this.#allowance.delete(this.#allowance.keys().next().value!);
    }
    this.#allowance.set(key, a);
    return chargeBytes(a, bytes, nowMs, this.bytesPerS, this.burstBytes);
  }
}

const WEBM_FILE = /^(.+)\.webm$/;
/** Every media answer: readable from any origin, and never content-sniffed into something else. */
const COMMON_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'content-length, content-range',
  'x-content-type-options': 'nosniff',
} as const;

/**
 * Answers `GET|HEAD /media/<file>`: `<id>.webm` of a stored asset, else 404. The server hands it one request per
 * connection at a time (answerInTurn): 1,500 pipelined GETs on one unread connection, each opening its file on
 * arrival, held 1,500 descriptors before.
 */
export function serveMedia(
  store: DiskStore,
  file: string,
  req: IncomingMessage,
  res: ServerResponse,
  downloads: MediaDownloads = new MediaDownloads(),
): void {
  const m = WEBM_FILE.exec(file);
  if (!m) return void notFound(res, file);
  const id = m[1]!;
  const path = isAssetId(id) && store.stat(id) ? store.pathOf(id) : undefined;
  if (!path) return void notFound(res, id);
  // A HEAD sends no body: only GETs hold a download slot.
  if (req.method !== 'HEAD' && !downloads.take(req, res)) return;
  const gone = () => req.socket.destroyed || res.destroyed;
  void openAsset(path).then(
    (fh) => {
      if (fh && gone()) return void fh.fh.close().catch(() => undefined);
      fh ? send(fh, req, res, downloads) : notFound(res, id);
    },
    () => notFound(res, id),
  );
}

/**
 * Opens the asset without following a symlink (one swapped in since the last
 * rescan would otherwise be served until the next) and checks what was opened
 * is a regular file; the size comes from that same descriptor.
 */
async function openAsset(file: string): Promise<{ fh: FileHandle; size: number } | undefined> {
  const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  const s = await fh.stat().catch(() => undefined);
  if (!s?.isFile()) {
    await fh.close().catch(() => undefined);
    return undefined;
  }
  return { fh, size: s.size };
}

function send({ fh, size }: { fh: FileHandle; size: number }, req: IncomingMessage, res: ServerResponse, downloads: MediaDownloads): void {
  // RFC 9110 §14.2 by range-parser (Express's): one satisfiable byte range gets 206; a request for
  // none of the file gets 416; what a server may or must ignore (another unit, a malformed header,
  // several ranges — answering those needs multipart/byteranges, which no player asks of a video) gets
  // the whole file, 200.
  const ranges = req.headers.range ? parseRange(size, req.headers.range, { combine: true }) : undefined;
  if (ranges === -1 || (Array.isArray(ranges) && ranges.type === 'bytes' && ranges.length === 0 && size > 0)) {
    void fh.close().catch(() => undefined);
    badRange(res, size);
    return;
  }
  const one = Array.isArray(ranges) && ranges.type === 'bytes' && ranges.length === 1 ? ranges[0]! : undefined;
  const start = one?.start ?? 0;
  const end = one?.end ?? size - 1;
  const headers = {
    'content-type': 'video/webm',
    'accept-ranges': 'bytes',
    'content-length': String(Math.max(0, end - start + 1)),
    ...COMMON_HEADERS,
  };
  res.writeHead(one ? 206 : 200, one ? { ...headers, 'content-range': `bytes ${start}-${end}/${size}` } : headers);
  if (req.method === 'HEAD' || size === 0) {
    void fh.close().catch(() => undefined);
    res.end();
    return;
  }
  // The stream reads through the descriptor checked above and closes it when done.
  const stream = createReadStream('', { fd: fh, start, end });
  stream.on('error', () => res.destroy());
  const pace = pacer(downloads, req);
  const stop = () => {
    stream.destroy();
    pace.destroy();
  };
  res.on('close', stop);
  // A response still queued behind others never hears `close` when the connection goes; its socket does.
  req.socket.once('close', stop);
  stream.once('close', () => req.socket.off('close', stop));
  stream.pipe(pace).pipe(res);
}

/** Passes a download's bytes on at its address's pace (after its burst), counting each chunk as egress as it goes. */
function pacer(downloads: MediaDownloads, req: IncomingMessage): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const wait = downloads.charge(req, chunk.length, Date.now());
      const pass = () => {
        if (this.destroyed) return;
        downloads.sent(chunk.length);
        done(null, chunk);
      };
      if (wait > 0) setTimeout(pass, wait);
      else pass();
    },
  });
}

function notFound(res: ServerResponse, id: string): true {
  res.writeHead(404, { 'content-type': 'application/json', ...COMMON_HEADERS });
  res.end(JSON.stringify({ error: `unknown asset: ${id.slice(0, 80)}` }));
  return true;
}

function busy(res: ServerResponse, status: 429 | 503, reason: string): false {
  res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '1', ...COMMON_HEADERS });
  res.end(JSON.stringify({ error: reason }));
  return false;
}

function badRange(res: ServerResponse, size: number): true {
  res.writeHead(416, { 'content-range': `bytes */${size}`, ...COMMON_HEADERS });
  res.end();
  return true;
}
