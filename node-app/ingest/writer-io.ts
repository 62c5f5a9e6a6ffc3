// The disk operations a live writer needs, and Node's; apart from the writer so tests can inject a disk that fills up or stalls.
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';

/** The file operations a writer needs; injectable so tests can make the disk fill up or stall. */
export interface WriterFile {
  write(buf: Uint8Array, position: number): Promise<number>;
  read(buf: Uint8Array, position: number): Promise<number>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface WriterIo {
  /** Create (or truncate) for reading and writing; never follows a symlink. */
  create(path: string): Promise<WriterFile>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Make a rename durable. */
  syncDir(dir: string): Promise<void>;
}

export const nodeWriterIo: WriterIo = {
  async create(path) {
    const fh = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    return {
      write: async (buf, position) => (await fh.write(buf, 0, buf.byteLength, position)).bytesWritten,
      read: async (buf, position) => (await fh.read(buf, 0, buf.byteLength, position)).bytesRead,
      sync: () => fh.datasync(),
      truncate: (length) => fh.truncate(length),
      close: () => fh.close(),
    };
  },
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async syncDir(dir) {
    const fh = await open(dir, constants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
};
