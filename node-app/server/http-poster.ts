// GET /poster/<id>.jpg: an asset's poster picture, cacheable for good when the URL names its
// current version (`?v=<token>`, as the catalog gives it), revalidated by ETag otherwise.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAssetId } from '../../signaling/protocol/ids.js';
import type { DiskStore } from '../storage/disk-store.js';

const JPEG_FILE = /^(.+)\.jpg$/;
/** Posters are small (≈ 20–60 KB at 480 px); a larger file is not sent. */
export const MAX_POSTER_BYTES = 2 * 1024 * 1024;
const COMMON_HEADERS = { 'access-control-allow-origin': '*', 'x-content-type-options': 'nosniff' } as const;

/** Answers `GET|HEAD /poster/<id>.jpg` of a stored asset, or of a live stream being ingested here. */
export function servePoster(
  store: DiskStore,
  file: string,
  req: IncomingMessage,
  res: ServerResponse,
  livePoster: (assetId: string) => string | undefined = () => undefined,
): void {
  const m = JPEG_FILE.exec(file);
  const id = m?.[1];
  const token = id && isAssetId(id) ? (store.stat(id)?.poster ?? livePoster(id)) : undefined;
  const path = token ? store.posterPathOf(id!) : undefined;
  if (!path || !token) return notFound(res);
  const etag = `"${token}"`;
  const wanted = new URL(req.url ?? '/', 'http://x').searchParams.get('v');
  const cache = wanted === token ? 'public, max-age=31536000, immutable' : 'public, max-age=60, must-revalidate';
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, { etag, 'cache-control': cache, ...COMMON_HEADERS });
    return void res.end();
  }
  void read(path).then(
    (bytes) => {
      if (!bytes) return notFound(res);
      res.writeHead(200, {
        'content-type': 'image/jpeg',
        'content-length': String(bytes.byteLength),
        'cache-control': cache,
        etag,
        ...COMMON_HEADERS,
      });
      res.end(req.method === 'HEAD' ? undefined : bytes);
    },
    () => notFound(res),
  );
}

/** The poster's bytes (never through a symlink, never past the bound), or undefined. */
async function read(path: string): Promise<Uint8Array | undefined> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const s = await fh.stat();
    if (!s.isFile() || s.size > MAX_POSTER_BYTES) return undefined;
    const buf = new Uint8Array(s.size);
    let filled = 0;
    while (filled < buf.byteLength) {
      const { bytesRead } = await fh.read(buf, filled, buf.byteLength - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buf.subarray(0, filled);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/json', ...COMMON_HEADERS });
  res.end(JSON.stringify({ error: 'no poster' }));
}
