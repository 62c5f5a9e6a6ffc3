// The built web client, served by sirv, and served again as rebuilt: `npm run build` under a running hub replaces
// dist/web (new hashed file names, a new index.html), and sirv's production mode knows only the files (and sizes)
// it found at start — it would serve the old index's length and 404 (then the index, by `single`) for the new files.
import { statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import sirv from 'sirv';

/** A path sirv does not know makes it look at the directory again at most this often (anonymous requests can ask). */
export const STATIC_RESCAN_MS = 1_000;

/** The stamp after a failed scan: never one of index.html's. */
const FAILED = 'failed';

type Next = () => void;
/** `next`: no such file; `unbuilt`: nothing is built in the directory. */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse, next: Next, unbuilt: Next) => void;

/**
 * Serves `dir` (a single-page app: unknown paths get index.html), noticing a rebuild: index.html changed (one stat per
 * request), or a request for a file the last scan did not see (a rescan at most every STATIC_RESCAN_MS). A directory
 * absent at start is served once it is built. A scan that fails (sirv's walk stops at the first entry it cannot stat:
 * a dangling symlink, a file a rebuild removed during the walk) is told to `onScanError`, and nothing is served
 * (`unbuilt`) until a scan succeeds, tried again at most every STATIC_RESCAN_MS. Before, it threw out of the request
 * handler: one request killed the hub (found by review attack30).
 */
export function rebuildableStatic(
  dir: string,
  now: () => number = Date.now,
  onScanError: (err: Error) => void = () => undefined,
): StaticHandler {
  const index = join(dir, 'index.html');
  let stamp = '';
  let handler: ReturnType<typeof sirv> | null = null;
  let exact: ReturnType<typeof sirv> | null = null;
  let scannedAt = -Infinity;
  let failedAt = -Infinity;

  const stampOf = (): string => {
    let s: Stats;
    try {
      s = statSync(index);
    } catch {
      return '';
    }
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  };
  const scan = (current: string): void => {
    scannedAt = now();
    try {
      handler = current ? sirv(dir, { single: true, dev: false, etag: true }) : null;
      // The same files without the single-page fallback: tells a file the scan missed from a route of the app.
      exact = current ? sirv(dir, { dev: false, etag: true }) : null;
      stamp = current;
    } catch (err) {
      handler = exact = null;
      // No real stamp: the next request after STATIC_RESCAN_MS scans again, whether index.html changed or not.
      stamp = FAILED;
      failedAt = scannedAt;
      onScanError(err as Error);
    }
  };
  const fresh = (): boolean => {
    const current = stampOf();
    if (current !== stamp && now() - failedAt >= STATIC_RESCAN_MS) scan(current);
    return handler !== null;
  };

  return (req, res, next, unbuilt) => {
    if (!fresh()) return unbuilt();
    ignoreOddRange(req);
    // A path with a file extension the scan does not hold may be a file built since: look once more (rate-bounded).
    const path = (req.url ?? '/').split('?')[0]!;
    if (/\.[a-z0-9]+$/i.test(path) && now() - scannedAt >= STATIC_RESCAN_MS) {
      return exact!(req, res, () => {
        scan(stampOf());
        if (!handler) return unbuilt();
        handler(req, res, next);
      });
    }
    handler!(req, res, next);
  };
}

/**
 * Drops a Range header sirv would misread: it takes `bytes=<start>-<end>` loosely, and a start past the end
 * (`bytes=5-2`) threw out of its handler from createReadStream after the 206 head was written (before the
 * answerInTurn guard, one anonymous request ended the hub; found by review attack30), a suffix range (`bytes=-5`) got
 * the first bytes instead of the last, a list of ranges one wrong range. Only `bytes=<start>-[<end>]` with start ≤ end
 * is kept; any other is ignored, as RFC 9110 §14.2 allows: the whole file is answered.
 */
function ignoreOddRange(req: IncomingMessage): void {
  const range = req.headers.range;
  if (range === undefined) return;
  const m = /^bytes=(\d{1,15})-(\d{0,15})$/.exec(range);
  if (!m || (m[2] !== '' && Number(m[2]) < Number(m[1]))) delete req.headers.range;
}
