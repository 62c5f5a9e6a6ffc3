// BlockStore over a directory of `<id>.webm` files: catalog (each file's entry: catalog-entry.ts), codec probing, reads
// (file-reads.ts); each asset's sidecar (`<id>.json`: title, description) and poster (`<id>.poster.jpg`) beside it
// (asset-companions.ts).
import { statSync } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { BlockStore } from '../contracts.js';
import { isAssetId } from '../../signaling/protocol/ids.js';
import type { AssetInfo } from '../../signaling/protocol/types.js';
import { withinMetaBudget } from './meta-budget.js';
import { StorageError, StorageErrorCode, unknownAsset } from './errors.js';
import { DEFAULT_MAX_OPEN_FILES } from './fd-pool.js';
import { FileReads } from './file-reads.js';
import { buildSeekIndex, type SeekIndex } from './seek-index.js';
import { SIDECAR_EXTENSION } from './sidecar.js';
import { posterStat, posterTokenOf } from './asset-companions.js';
import { POSTER_SUFFIX, type PosterMaker } from './poster-maker.js';
import type { RenditionMaker } from './rendition-maker.js';
import { type FileMark, contentChanged, markOf } from './file-identity.js';
import { type CatalogEntry, describeFile } from './catalog-entry.js';
import { notAnAssetFileName } from './stored-media.js';

/** File extension of stored assets. */
export const ASSET_EXTENSION = '.webm';
/** Largest single read; callers read in blocks far below this. */
export const MAX_READ_BYTES = 16 * 1024 * 1024;

export interface DiskStoreOptions {
  /** File handles kept open at once (LRU). Default 16. */
  maxOpenFiles?: number;
  /** Makes a poster for each asset that has none (none are made without it). */
  posters?: PosterMaker;
  /** Makes the smaller renditions each stored video asset lacks (none are made without it). */
  renditions?: RenditionMaker;
  /** A sidecar could not be used (too large, not JSON, a bad field): the asset is listed without it. */
  sidecarError?: (assetId: string, message: string) => void;
  /**
   * A file is not listed: a `.webm` file that is not WebM/Matroska media Baton plays (said once per version of the
   * file), or one that can never be (a name that is no asset id, a symlink, a video by another extension: said once).
   */
  notListed?: (fileName: string, reason: string) => void;
}

/** What a rescan found compared with the previous catalog. */
export interface RefreshResult {
  added: AssetInfo[];
  removed: string[];
  /** Entries whose file changed: another inode or fingerprint (a replaced, rewritten or still-growing file); not a new mtime alone. */
  changed: AssetInfo[];
  /** Entries whose title, description or poster changed (and nothing in `added`). */
  described: AssetInfo[];
  /**
   * Listed files whose bytes are changing (another inode or fingerprint) but have not held still for a scan yet: kept
   * as last listed (nothing to report, no rendition or poster made of them) until they do, then in `changed`. Nothing
   * cached of them may be served meanwhile.
   */
  moving: string[];
}

/**
 * At the first scan, a file modified less than this long ago is looked at twice, START_STILL_MS apart, before it is
 * listed (there is no earlier scan to tell whether it is still being copied in); older ones are taken as they are.
 */
export const STILL_AGE_MS = 2_000;
/** How long the first scan waits to stat again the files modified within STILL_AGE_MS (only when there are some). */
export const START_STILL_MS = 250;

export class DiskStore implements BlockStore {
  /** Absolute storage root. */
  readonly root: string;
  readonly #prefix: string;
  readonly #reads: FileReads;
  readonly #o: DiskStoreOptions;
  #catalog = new Map<string, CatalogEntry>();
  /** Media files of the last scan whose name or kind can never be listed (said once while they stay). */
  #refusedNames = new Set<string>();
  /** Files of the last scan left out of the catalog (`notPlayable`), by id: each read again only when its mark moves. */
  #unlisted = new Map<string, FileMark>();
  /**
   * The mark of every `.webm` file as of the last scan (or as `written` recorded it), by id. A file is listed, and a
   * listed one's change taken, only once its mark is the same at two scans in a row: a file still being copied in is
   * neither reported nor encoded into renditions until it is complete (before, at every rescan of a slow copy).
   */
  #marks = new Map<string, FileMark>();
  #scanned = false;
  #closed = false;
  #refreshing: Promise<unknown> = Promise.resolve();
  /** Background index builds run one at a time, so a scan of many new files does not read them all at once. */
  #indexing: Promise<unknown> = Promise.resolve();

  /** Use `DiskStore.open()` to get a scanned store; the constructor does no I/O. */
  constructor(root: string, opts: DiskStoreOptions = {}) {
    this.root = resolve(root);
    this.#prefix = this.root.endsWith(sep) ? this.root : this.root + sep;
    this.#reads = new FileReads(opts.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES);
    this.#o = opts;
  }

  /** Creates the root if needed and scans it. */
  static async open(root: string, opts: DiskStoreOptions = {}): Promise<DiskStore> {
    const store = new DiskStore(root, opts);
    await mkdir(store.root, { recursive: true });
    await store.refresh();
    return store;
  }

  /** Bytes read from disk by `read()` since start (once per range read concurrently; probing the catalog is not counted). */
  get bytesRead(): number {
    return this.#reads.bytesRead;
  }

  /**
   * The file path for an id, or undefined when the id is not allowed. Writers (ingest)
   * use this so their paths obey the same rules as reads.
   */
  pathOf(assetId: string): string | undefined {
    if (!isAssetId(assetId)) return undefined;
    const path = resolve(this.root, assetId + ASSET_EXTENSION);
    return path.startsWith(this.#prefix) ? path : undefined;
  }

  /** Where `assetId`'s sidecar JSON is (or would be), or undefined when the id is not allowed. */
  sidecarPathOf(assetId: string): string | undefined {
    const media = this.pathOf(assetId);
    return media && media.slice(0, -ASSET_EXTENSION.length) + SIDECAR_EXTENSION;
  }

  /** Where `assetId`'s poster is (or would be), or undefined when the id is not allowed. */
  posterPathOf(assetId: string): string | undefined {
    const media = this.pathOf(assetId);
    return media && media.slice(0, -ASSET_EXTENSION.length) + POSTER_SUFFIX;
  }

  /** Catalog entry with the file's current size (a live file grows between rescans). */
  stat(assetId: string): AssetInfo | undefined {
    const entry = this.#entry(assetId);
    if (!entry) return undefined;
    const now = statSync(entry.path, { throwIfNoEntry: false });
    if (!now?.isFile()) return undefined;
    return now.size === entry.info.bytes ? { ...entry.info } : { ...entry.info, bytes: now.size };
  }

  /**
   * `inode:size:fingerprint` of the file now at the id's path (the fingerprint as of the last rescan), or undefined
   * when there is none. Another inode is an atomic replace; another size a copy over the file in place (same inode),
   * which a stored file never sees while served (a live recording is read from its writer, a rendition is renamed
   * in); another fingerprint a same-size rewrite in place, once a rescan has seen it.
   */
  identity(assetId: string): string | undefined {
    const entry = this.#entry(assetId);
    const now = entry && statSync(entry.path, { throwIfNoEntry: false });
    return now?.isFile() ? `${now.ino}:${now.size}:${entry?.info.fingerprint}` : undefined;
  }

  /**
   * Whether the file at the id's path is still the one listed (the inode and size of the last rescan's entry). One
   * replaced or rewritten since (another inode, another size) is not what its listing, fingerprint included, says:
   * a session opened on it would tell viewers the old copy's fingerprint over the new file's bytes, and one resuming
   * there would splice two files. False for an id not listed or with no file.
   */
  isAsListed(assetId: string): boolean {
    const entry = this.#entry(assetId);
    const now = entry && statSync(entry.path, { throwIfNoEntry: false });
    return !!now?.isFile() && now.ino === entry!.ino && now.size === entry!.info.bytes;
  }

  /** The catalog as of the last rescan, sorted by id (titles and descriptions within MAX_META_CHARS_PER_MESSAGE). */
  list(): AssetInfo[] {
    return withinMetaBudget([...this.#catalog.values()].map((e) => ({ ...e.info })).sort((a, b) => (a.id < b.id ? -1 : 1)));
  }

  async read(assetId: string, offset: number, length: number): Promise<Uint8Array> {
    if (this.#closed) throw new StorageError(StorageErrorCode.closed, 'store is closed');
    const entry = this.#entry(assetId);
    if (!entry) throw unknownAsset();
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0 || length > MAX_READ_BYTES) {
      throw new StorageError(StorageErrorCode.badRange, `bad range: offset ${offset}, length ${length}`);
    }
    if (length === 0) return new Uint8Array(0);
    try {
      // Reads past the current end return short; a growing file is read as it is now (or as it was when the read
      // this one joined began: a caller of a live file reads again as it grows).
      return await this.#reads.shared(entry.path, offset, length);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ELOOP') throw unknownAsset();
      throw new StorageError(StorageErrorCode.io, `read failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Reads in flight now (tests). */
  get readsInFlight(): number {
    return this.#reads.inFlight;
  }

  /**
   * Where `assetId` can be played from: its keyframe Clusters with their times (from the Cues,
   * or a scan of the Clusters for recordings without Cues). Undefined for an unknown asset or a
   * file that has none. Built once per file and kept with its catalog entry.
   */
  seekIndex(assetId: string): Promise<SeekIndex | undefined> {
    const entry = this.#entry(assetId);
    const bytes = entry && this.stat(assetId)?.bytes;
    if (!entry || bytes === undefined) return Promise.resolve(undefined);
    if (entry.index?.bytes !== bytes) {
      const built = buildSeekIndex((offset, length) => this.#reads.raw(entry.path, offset, length), bytes).catch(() => undefined);
      entry.index = { bytes, built };
    }
    return entry.index.built;
  }

  /** Length of the asset's init segment (bytes before its first Cluster), from the probe of its head. */
  initBytes(assetId: string): number | undefined {
    return this.#entry(assetId)?.probe.firstClusterOffset;
  }

  /** Rescans the root; concurrent calls run one after another. */
  refresh(): Promise<RefreshResult> {
    const run = this.#refreshing.then(() => this.#scan());
    this.#refreshing = run.catch(() => undefined);
    return run;
  }

  /**
   * The file at the id's path was written whole by this process (a finalized broadcast, a rendition renamed in): the
   * next scan takes it as still, so it is listed at once instead of one rescan later.
   */
  written(assetId: string): void {
    const path = this.pathOf(assetId);
    const s = path ? statSync(path, { throwIfNoEntry: false }) : undefined;
    if (s?.isFile()) this.#marks.set(assetId, markOf(s));
  }

  /** Closes open files; later reads reject with code `closed`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reads.close();
  }

  #entry(assetId: string): CatalogEntry | undefined {
    // The catalog only holds ids that passed pathOf(), but check anyway: a lookup
    // must never depend on Map semantics for strings like "__proto__".
    if (this.pathOf(assetId) === undefined) return undefined;
    return this.#catalog.get(assetId);
  }

  async #scan(): Promise<RefreshResult> {
    const next = new Map<string, CatalogEntry>();
    const unlisted = new Map<string, FileMark>();
    const marks = new Map<string, FileMark>();
    const result: RefreshResult = { added: [], removed: [], changed: [], described: [], moving: [] };
    let names: string[] = [];
    // Media files that can never be listed (a name that is no asset id, a symlink): said once while they stay.
    const refusedNames = new Set<string>();
    const refuse = (name: string, reason: string) => {
      if (name.startsWith('.')) return; // hidden: not meant to be listed
      refusedNames.add(name);
      if (!this.#refusedNames.has(name)) this.#o.notListed?.(name, reason);
    };
    /** The root's files: a sidecar or poster not among them is not looked for (two stats fewer per asset and rescan). */
    let files = new Set<string>();
    try {
      const dirents = await readdir(this.root, { withFileTypes: true });
      // Regular files only: symlinks and directories never enter the catalog.
      // (Symlinks too: a symlinked sidecar is still refused by name, `ELOOP`, when read.)
      files = new Set(dirents.filter((d) => d.isFile() || d.isSymbolicLink()).map((d) => d.name));
      names = dirents.filter((d) => d.isFile() && d.name.endsWith(ASSET_EXTENSION)).map((d) => d.name);
      for (const d of dirents)
        if (d.isSymbolicLink() && d.name.endsWith(ASSET_EXTENSION)) refuse(d.name, 'a symbolic link: only regular files are listed');
        else if (d.isFile()) {
          // A video by another name (`talk.mp4`, `clip.WEBM`) would otherwise be left out without a word.
          const other = notAnAssetFileName(d.name);
          if (other) refuse(d.name, other);
        }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (!this.#scanned) await this.#firstMarks(names);
    this.#scanned = true;
    const { sidecarError, notListed } = this.#o;
    const scan = {
      lastUnlisted: this.#unlisted,
      lastMarks: this.#marks,
      unlisted,
      marks,
      moving: result.moving,
      files,
      sidecarError,
      notListed,
    };
    for (const name of names) {
      const id = name.slice(0, -ASSET_EXTENSION.length);
      const path = this.pathOf(id);
      if (!path) {
        refuse(name, 'its name is not an asset id (1–64 letters, digits, _ or -, starting with a letter or digit): rename the file');
        continue;
      }
      const file = { id, path, sidecarPath: this.sidecarPathOf(id)!, posterPath: this.posterPathOf(id)! };
      const entry = await describeFile(file, this.#catalog.get(id), scan);
      if (entry) next.set(id, entry);
    }
    this.#unlisted = unlisted;
    this.#marks = marks;
    this.#refusedNames = refusedNames;
    // A moving file may be another inode already: the pool's handle would read the old one under the new size.
    for (const id of result.moving) this.#reads.invalidate(this.#catalog.get(id)!.path);
    for (const [id, entry] of next) {
      const before = this.#catalog.get(id);
      if (!before) result.added.push({ ...entry.info });
      else {
        if (contentChanged(before, entry) || before.info.mime !== entry.info.mime) result.changed.push({ ...entry.info });
        const b = before.info;
        const a = entry.info;
        if (b.title !== a.title || b.description !== a.description || b.poster !== a.poster) result.described.push({ ...a });
      }
      if (before && contentChanged(before, entry)) this.#reads.invalidate(before.path);
    }
    for (const [id, entry] of this.#catalog) {
      if (next.has(id)) continue;
      result.removed.push(id);
      this.#reads.invalidate(entry.path);
      this.#o.posters?.forget(id);
    }
    this.#catalog = next;
    for (const [id, entry] of next) {
      // A file still being written has no complete head yet; audio-only assets have no picture to take.
      if (entry.info.poster || !entry.probe.complete || !entry.probe.tracks.some((t) => t.type === 'video')) continue;
      this.#o.posters?.want({ id, source: entry.path, target: this.posterPathOf(id)!, version: `${entry.ino}:${entry.info.bytes}` });
    }
    this.#o.renditions?.scanned(
      [...next.values()].map((e) => ({ info: e.info, path: e.path, version: `${e.ino}:${e.info.bytes}`, mtimeMs: e.mtimeMs })),
    );
    // New files get their seek index in the background, so the first seek into them finds it ready.
    for (const info of [...result.added, ...result.changed]) {
      this.#indexing = this.#indexing.then(() => (this.#closed ? undefined : this.seekIndex(info.id)));
    }
    return result;
  }

  /**
   * The first scan has no scan before it to tell a file still being copied in: each file's mark is taken now, and
   * when one was modified within STILL_AGE_MS, taken again START_STILL_MS later by the scan itself. Files older than
   * that are listed at once (no wait at all for a library that has been still, the usual start); a copy under way is
   * listed once it holds still, like one that starts later.
   */
  async #firstMarks(names: string[]): Promise<void> {
    let young = false;
    const now = Date.now();
    for (const name of names) {
      const s = await stat(resolve(this.root, name)).catch(() => undefined);
      if (!s?.isFile()) continue;
      this.#marks.set(name.slice(0, -ASSET_EXTENSION.length), markOf(s));
      if (s.mtimeMs > now - STILL_AGE_MS) young = true;
    }
    if (young) await new Promise((r) => setTimeout(r, START_STILL_MS));
  }

  /**
   * The poster's version token (base 36 of its mtime and size), or undefined when there is none (or
   * the id is not allowed). An
   * operator's own `<id>.poster.jpg` is used as it is; deleting it makes the server take a new one.
   */
  async posterToken(id: string): Promise<string | undefined> {
    const s = await posterStat(this.posterPathOf(id));
    return s && posterTokenOf(s);
  }
}
