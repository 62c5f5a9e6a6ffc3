// Plain HTTP delivery of stored assets (GET /media/<id>.webm, with ranges): the
// baseline Baton's WebRTC path is measured against, and a fallback for tools.
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAssetId } from '../signaling/protocol/ids.js';
import type { DiskStore } from './storage/disk-store.js';

const MEDIA_PATH = /^\/media\/([^/]+)\.webm$/;

/** Handles the request if it is for `/media/…`; returns false otherwise. */
export function serveMedia(store: DiskStore, path: string, req: IncomingMessage, res: ServerResponse): boolean {
  const m = MEDIA_PATH.exec(path);
  if (!m) return false;
  const cors = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'content-length, content-range' };
  const id = m[1]!;
  const info = isAssetId(id) ? store.stat(id) : undefined;
  const file = info && store.pathOf(id);
  if (!info || !file) {
    res.writeHead(404, { 'content-type': 'application/json', ...cors });
    res.end(JSON.stringify({ error: `unknown asset: ${id.slice(0, 80)}` }));
    return true;
  }
  let start = 0;
  let end = info.bytes - 1;
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (req.headers.range) {
    if (!range || (range[1] === '' && range[2] === '')) return badRange(res, info.bytes, cors);
    if (range[1] === '') start = Math.max(0, info.bytes - Number(range[2]));
    else {
      start = Number(range[1]);
      if (range[2] !== '') end = Math.min(end, Number(range[2]));
    }
    if (start > end || start >= info.bytes) return badRange(res, info.bytes, cors);
  }
  const headers = { 'content-type': 'video/webm', 'accept-ranges': 'bytes', 'content-length': String(end - start + 1), ...cors };
  res.writeHead(req.headers.range ? 206 : 200, req.headers.range ? { ...headers, 'content-range': `bytes ${start}-${end}/${info.bytes}` } : headers);
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  const stream = createReadStream(file, { start, end });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
  return true;
}

function badRange(res: ServerResponse, size: number, cors: Record<string, string>): true {
  res.writeHead(416, { 'content-range': `bytes */${size}`, ...cors });
  res.end();
  return true;
}
