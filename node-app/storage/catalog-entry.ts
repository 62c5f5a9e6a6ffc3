// One `.webm` file's catalog entry as a rescan takes it: kept as last listed while its bytes move, else described
// again (fingerprint, probe, sidecar, poster) only as far as what changed requires.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { AssetInfo } from '../../signaling/protocol/types.js';
import { MAX_PICTURE_HEIGHT_PX } from '../../signaling/protocol/messages.js';
import { mimeFor, type WebmProbe } from './webm-probe.js';
import type { SeekIndex } from './seek-index.js';
import { SIDECAR_EXTENSION } from './sidecar.js';
import { type SidecarAsOf, currentPoster, currentSidecar } from './asset-companions.js';
import { POSTER_SUFFIX } from './poster-maker.js';
import { type FileMark, contentChanged, fingerprintFile, markOf } from './file-identity.js';
import { notPlayable, probeFile } from './stored-media.js';

export interface CatalogEntry {
  info: AssetInfo;
  path: string;
  ino: number;
  /** The file's modification time (ms): a rendition older than its source is made again. */
  mtimeMs: number;
  probe: WebmProbe;
  /** Its head's hash: a copy still being written (same inode and head, grown) keeps its poster (an operator's too). */
  head: string;
  /** The sidecar as of its mark (absent file: mark ''). */
  sidecar: SidecarAsOf;
  /** Built once per file (same inode and size): on the first seek, or in the background after a scan. */
  index?: { bytes: number; built: Promise<SeekIndex | undefined> };
}

/** The file a rescan is describing: its id and where it and its companions are. */
export interface CatalogFile {
  id: string;
  path: string;
  sidecarPath: string;
  posterPath: string;
}

/** What one rescan knows from the scan before it and gathers as it goes. */
export interface CatalogScan {
  /** As of the last scan: files left out (read again only when their mark moves) and every file's mark. */
  lastUnlisted: ReadonlyMap<string, FileMark>;
  lastMarks: ReadonlyMap<string, FileMark>;
  /** Filled by this scan. */
  unlisted: Map<string, FileMark>;
  marks: Map<string, FileMark>;
  moving: string[];
  /** The root's files: a sidecar or poster not among them is not looked for (two stats fewer per asset and rescan). */
  files: ReadonlySet<string>;
  /** A sidecar could not be used: the asset is listed without it. */
  sidecarError?: (assetId: string, message: string) => void;
  /** A `.webm` file (by its name) is not listed: not media Baton plays. */
  notListed?: (fileName: string, reason: string) => void;
}

/** The file's entry for the next catalog (`before` while it moves), or undefined when it is not to be listed. */
export async function describeFile(
  file: CatalogFile,
  before: CatalogEntry | undefined,
  scan: CatalogScan,
): Promise<CatalogEntry | undefined> {
  const { id, path } = file;
  const { unlisted } = scan;
  try {
    const s = await stat(path);
    if (!s.isFile()) return undefined;
    const mark = markOf(s);
    scan.marks.set(id, mark);
    // Left out at the last scan and untouched since: not read again.
    if (scan.lastUnlisted.get(id) === mark) return void unlisted.set(id, mark);
    const untouched =
      before?.info.fingerprint !== undefined && before.ino === s.ino && before.info.bytes === s.size && before.mtimeMs === s.mtimeMs;
    if (!untouched && scan.lastMarks.get(id) !== mark) {
      // Moved since the last scan: maybe still being written. Not listed yet, or kept as last listed; only a listed
      // file whose bytes differ (not a `touch`) is said to be moving, so that nothing cached of it is served.
      if (before && contentChanged(before, { ino: s.ino, info: { fingerprint: (await fingerprintFile(path, s.size)).fingerprint } }))
        scan.moving.push(id);
      return before;
    }
    // Another mtime alone (a `touch`, a backup tool) is a change only if the fingerprint says so.
    const { fingerprint, head } = untouched
      ? { fingerprint: before.info.fingerprint!, head: before.head }
      : await fingerprintFile(path, s.size);
    const same = before !== undefined && !contentChanged(before, { ino: s.ino, info: { fingerprint } });
    // Re-probe only a new file, a replaced or rewritten one (its duration may come from its tail), or one whose head was incomplete.
    const probe = same && before.probe.complete ? before.probe : await probeFile(path, s.size);
    const unplayable = notPlayable(probe, s.size);
    if (unplayable) {
      unlisted.set(id, mark);
      scan.notListed?.(basename(path), unplayable);
      return undefined;
    }
    const info: AssetInfo = { id, bytes: s.size, mime: mimeFor(probe), fingerprint };
    const heightPx = probe.tracks.find((t) => t.type === 'video')?.height;
    if (heightPx && heightPx <= MAX_PICTURE_HEIGHT_PX) info.heightPx = heightPx;
    if (probe.durationMs) {
      info.durationMs = probe.durationMs;
      info.bitrateBps = Math.round((s.size * 8 * 1000) / probe.durationMs);
    }
    const sidecar = await currentSidecar(file.sidecarPath, before?.sidecar, scan.files.has(id + SIDECAR_EXTENSION), (m) =>
      scan.sidecarError?.(id, m),
    );
    if (sidecar.meta.title) info.title = sidecar.meta.title;
    if (sidecar.meta.description) info.description = sidecar.meta.description;
    const grew = before?.ino === s.ino && s.size >= before.info.bytes && before.head === head;
    const poster = scan.files.has(id + POSTER_SUFFIX)
      ? await currentPoster(file.posterPath, !!before && !same && !grew, s.mtimeMs)
      : undefined;
    if (poster) info.poster = poster;
    const entry: CatalogEntry = { info, path, ino: s.ino, mtimeMs: s.mtimeMs, probe, head, sidecar };
    if (same && before.index) entry.index = before.index;
    return entry;
  } catch {
    // Vanished or unreadable between readdir and now: not in the catalog.
    return undefined;
  }
}
