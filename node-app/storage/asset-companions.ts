// The files beside a stored asset, as a scan sees them: its sidecar (read again only when it changed) and its poster's version.
import type { Stats } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { type FileMark, fileMark } from './file-identity.js';
import { readSidecar, type Sidecar } from './sidecar.js';

/** A sidecar as of its file's mark (an absent file: mark ''). */
export interface SidecarAsOf {
  mark: FileMark;
  meta: Sidecar;
}

/**
 * The sidecar at `path`, read again only when its file changed since `before`; `listed` says whether the scan saw
 * the file at all. A sidecar that does not parse counts as empty and is reported through `onError`.
 */
export async function currentSidecar(
  path: string,
  before: SidecarAsOf | undefined,
  listed: boolean,
  onError: (message: string) => void,
): Promise<SidecarAsOf> {
  const mark = listed ? await fileMark(path) : '';
  if (before && before.mark === mark) return before;
  if (mark === '') return { mark, meta: {} };
  const r = await readSidecar(path);
  if (r === undefined) return { mark: '', meta: {} };
  if (!r.ok) {
    onError(`${path}: ${r.message}`);
    return { mark, meta: {} };
  }
  return { mark, meta: r.meta };
}

/** The poster file at `path` when it is a non-empty regular file. */
export async function posterStat(path: string | undefined): Promise<Stats | undefined> {
  const s = path ? await stat(path).catch(() => undefined) : undefined;
  return s?.isFile() && s.size > 0 ? s : undefined;
}

/**
 * The poster's token, for a file whose content changed since the last scan (`replaced`) only if the poster is newer
 * than the file: an older one shows the replaced file's picture, so it is removed and the maker takes a new one.
 */
export async function currentPoster(path: string, replaced: boolean, mediaMtimeMs: number): Promise<string | undefined> {
  const s = await posterStat(path);
  if (!s) return undefined;
  if (!replaced || s.mtimeMs >= mediaMtimeMs) return posterTokenOf(s);
  await unlink(path).catch(() => undefined);
  return undefined;
}

/** A poster file's version (its mtime and size, short): changes whenever the poster is made again. */
export function posterTokenOf(s: Stats): string {
  return (Math.round(s.mtimeMs) % 36 ** 9).toString(36) + (s.size % 36 ** 6).toString(36);
}
