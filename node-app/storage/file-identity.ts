// What tells one stored file from another across rescans: its mark (inode, size, mtime: cheap, read every scan) and
// its fingerprint (size and the hashes of its head and tail: read only when the mark moved).
import { createHash } from 'node:crypto';
import { type Stats, constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';

/** A file's identity for "has it changed since the last scan". */
export type FileMark = string;

/** What a scan keeps of a file to tell whether its bytes changed. */
export interface FileIdentity {
  ino: number;
  info: { fingerprint?: string };
}

/**
 * Whether the file's bytes may differ from the last scan's: another inode (an atomic replace, a delete and a new
 * file) or another fingerprint (a copy still growing, a truncation, a rewrite in place). The fingerprint is taken
 * again only when the inode, size or mtime moved, so a rewrite in place that keeps the size and the first and last
 * FINGERPRINT_SPAN_BYTES passes for the same file.
 */
export function contentChanged(before: FileIdentity, now: FileIdentity): boolean {
  return before.ino !== now.ino || before.info.fingerprint !== now.info.fingerprint;
}

/** `ino:size:mtime` of a regular file at `path`, or '' when there is none. */
export async function fileMark(path: string): Promise<FileMark> {
  const s = await stat(path).catch(() => undefined);
  return s?.isFile() ? markOf(s) : '';
}

/** A regular file's mark from its stat. */
export function markOf(s: Stats): FileMark {
  return `${s.ino}:${s.size}:${Math.round(s.mtimeMs)}`;
}

/** Bytes of the head and of the tail a fingerprint hashes. */
export const FINGERPRINT_SPAN_BYTES = 64 * 1024;

/** A file's digests from one read of its head and tail (`fingerprintFile`). */
export interface FileDigests {
  /** Its size and the hash of its head and tail (`FINGERPRINT_PATTERN`). */
  fingerprint: string;
  /** The hash of its head alone: a copy that only grew (same inode, same head) still starts with the same media. */
  head: string;
}

/**
 * A copy's fingerprint (`FINGERPRINT_PATTERN`): its size, and SHA-256 of its first and last
 * `FINGERPRINT_SPAN_BYTES` (128 KiB read per new or changed file). Cheap, not proof: two copies that differ
 * only in their middle look alike — enough to tell a re-encode, another recording or a cut copy apart.
 * With it, the hash of the head alone.
 */
export async function fingerprintFile(path: string, size: number): Promise<FileDigests> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const hash = createHash('sha256');
    const span = Math.min(size, FINGERPRINT_SPAN_BYTES);
    const buf = new Uint8Array(span);
    const head = buf.subarray(0, (await fh.read(buf, 0, span, 0)).bytesRead);
    hash.update(head);
    const headHash = createHash('sha256').update(head).digest('hex').slice(0, 16);
    hash.update(buf.subarray(0, (await fh.read(buf, 0, span, size - span)).bytesRead));
    return { fingerprint: `${size.toString(36)}-${hash.digest('hex').slice(0, 16)}`, head: headHash };
  } finally {
    await fh.close();
  }
}
