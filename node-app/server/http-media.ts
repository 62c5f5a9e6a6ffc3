// Plain HTTP delivery of stored assets (GET /media/<id>.webm, with ranges): the
// baseline Baton's WebRTC path is measured against, and a fallback for tools.
import { constants, createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import parseRange from 'range-parser';
import { isAssetId } from '../../signaling/protocol/ids.js';
import type { DiskStore } from '../storage/disk-store.js';

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
export function serveMedia(store: DiskStore, file: string, req: IncomingMessage, res: ServerResponse): void {
  const m = WEBM_FILE.exec(file);
  if (!m) return void notFound(res, file);
  const id = m[1]!;
  const path = isAssetId(id) && store.stat(id) ? store.pathOf(id) : undefined;
  if (!path) return void notFound(res, id);
  const gone = () => req.socket.destroyed || res.destroyed;
  void openAsset(path).then(
    (fh) => {
      if (fh && gone()) return void fh.fh.close().catch(() => undefined);
      fh ? send(fh, req, res) : notFound(res, id);
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

function send({ fh, size }: { fh: FileHandle; size: number }, req: IncomingMessage, res: ServerResponse): void {
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
  const stop = () => stream.destroy();
  res.on('close', stop);
  // A response still queued behind others never hears `close` when the connection goes; its socket does.
  req.socket.once('close', stop);
  stream.once('close', () => req.socket.off('close', stop));
  stream.pipe(res);
}

function notFound(res: ServerResponse, id: string): true {
  res.writeHead(404, { 'content-type': 'application/json', ...COMMON_HEADERS });
  res.end(JSON.stringify({ error: `unknown asset: ${id.slice(0, 80)}` }));
  return true;
}

function badRange(res: ServerResponse, size: number): true {
  res.writeHead(416, { 'content-range': `bytes */${size}`, ...COMMON_HEADERS });
  res.end();
  return true;
}
