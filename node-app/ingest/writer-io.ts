// The disk operations a live writer needs, and Node's; apart from the writer so tests can inject a disk that fills up or stalls.
// Whole writes and reads, and a durable rename, are built on them here.
import { constants } from 'node:fs';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The file operations a writer needs; injectable so tests can make the disk fill up or stall. */
export interface WriterFile {
  write(buf: Uint8Array, position: number): Promise<number>;
  read(buf: Uint8Array, position: number): Promise<number>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
  /** The file's identity (`device:inode`), when the disk has one: to see that its path still names it. */
  readonly identity?: string;
}

export interface WriterIo {
  /** Create (or truncate) for reading and writing; never follows a symlink. */
  create(path: string): Promise<WriterFile>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Make a rename durable. */
  syncDir(dir: string): Promise<void>;
  /** The identity (`device:inode`) of what `path` names now, or undefined when it names nothing. */
  identityAt?(path: string): Promise<string | undefined>;
  /**
   * What `path` names now as `device:inode:size:mtime` (ns), or undefined when it names nothing: unlike its identity,
   * it moves when the file is truncated or rewritten in place (`cp` over it keeps the inode).
   */
  markAt?(path: string): Promise<string | undefined>;
}

/** `path`'s stat (bigint), or undefined when it names nothing. */
function statIfAny(path: string) {
  return stat(path, { bigint: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  });
}

export const nodeWriterIo: WriterIo = {
  async create(path) {
    const fh = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    const st = await fh.stat().catch(async (err: unknown) => {
      await fh.close();
      throw err;
    });
    return {
      identity: `${st.dev}:${st.ino}`,
      write: async (buf, position) => (await fh.write(buf, 0, buf.byteLength, position)).bytesWritten,
      read: async (buf, position) => (await fh.read(buf, 0, buf.byteLength, position)).bytesRead,
      sync: () => fh.datasync(),
      truncate: (length) => fh.truncate(length),
      close: () => fh.close(),
    };
  },
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async identityAt(path) {
    const st = await statIfAny(path);
    return st && `${st.dev}:${st.ino}`;
  },
  async markAt(path) {
    const st = await statIfAny(path);
    return st && `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
  },
  async syncDir(dir) {
    const fh = await open(dir, constants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
};

/** Writes all of `bytes` at `position`; a write that makes no progress is a full disk (`ENOSPC`). */
export async function writeFully(file: WriterFile, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const n = await file.write(bytes.subarray(done), position + done);
    if (n <= 0) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
    done += n;
  }
}

/** Reads into `buf` from `position` until it is full or the file ends; returns the bytes read. */
export async function readFully(file: WriterFile, buf: Uint8Array, position: number): Promise<number> {
  let filled = 0;
  while (filled < buf.byteLength) {
    const n = await file.read(buf.subarray(filled), position + filled);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

/** Renames `from` to `to` and fsyncs `to`'s directory, so the new name survives a crash. */
export async function renameDurably(io: WriterIo, from: string, to: string): Promise<void> {
  await io.rename(from, to);
  await io.syncDir(dirname(to));
}
