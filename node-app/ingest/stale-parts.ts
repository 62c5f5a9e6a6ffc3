// The start-up sweep of `.part` files (and their locks) a crash left in storage: each is salvaged to `<id>.webm` as a
// live writer's abandon would have done, or removed when it holds nothing to keep. Apart from the manager because it
// reads the directory, not the streams.
import { constants } from 'node:fs';
import { lstat, open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ClusterIndex } from './cluster-index.js';
import { PART_SUFFIX } from './live-writer.js';
import { LOCK_SUFFIX, claimPart, heldByOther, releasePart } from './part-lock.js';
import { nodeWriterIo, renameDurably } from './writer-io.js';

/**
 * Bytes a salvage reads at once: the only buffer it holds, whatever the `.part`'s size (ClusterIndex keeps a few
 * bytes of each header it walks, never a chunk). Reading is sequential: ≈ 1 s a GB from a cold disk here.
 */
export const SALVAGE_READ_BYTES = 1024 * 1024;

type RemovedWhy = 'existing' | 'no-media' | 'refused' | 'not-a-file';

/** What the sweep did with one stale `.part`. */
export type StalePartOutcome =
  /** Cut after its last whole block and renamed to `<id>.webm`, `bytes` long (of `partBytes`). */
  | { streamId: string; kind: 'salvaged'; bytes: number; partBytes: number }
  /**
   * Removed: `existing` (a finished `<id>.webm` is there already, kept), `no-media` (no whole frame), `refused` (not
   * media a writer would keep), `not-a-file` (a symlink or other non-regular file by that name: no writer makes one).
   */
  | { streamId: string; kind: 'removed'; why: RemovedWhy; partBytes: number; detail?: string }
  /** The salvage's I/O failed: the `.part` stays as it is (the next start tries again; a new broadcast of the id truncates it). */
  | { streamId: string; kind: 'failed'; partBytes: number; detail: string };

/**
 * Salvages the `.part` files a crash left behind in `root` (a server SIGKILLed or powered off mid-broadcast, or after
 * the last chunk but before the rename): each is cut after its last whole block (ClusterIndex.latestCut, as
 * LiveWriter's salvage cuts) and finalized to `<id>.webm`, so the catalog lists it. One is removed instead when a
 * `<id>.webm` exists already (that one is kept) or when no whole frame is in it. A `.part` whose lock names another
 * running process is that process's live stream and stays, as does one whose stream id `inUse` says this process
 * writes. Locks whose `.part` is gone go too, unless held.
 */
export async function sweepStaleParts(root: string, inUse: (streamId: string) => boolean): Promise<StalePartOutcome[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  const partEnd = '.webm' + PART_SUFFIX;
  const out: StalePartOutcome[] = [];
  for (const n of names) {
    if (!n.endsWith(partEnd)) continue;
    const streamId = n.slice(0, -partEnd.length);
    const part = join(root, n);
    // Claimed while salvaged: a second instance starting on the same storage leaves it alone meanwhile.
    if (inUse(streamId) || (await heldByOther(part)) || !(await claimPart(part).catch(() => false))) continue;
    try {
      out.push(await salvageOne(streamId, part, join(root, `${streamId}.webm`)));
    } finally {
      await releasePart(part);
    }
  }
  // Locks whose `.part` is gone (a crash between the two unlinks) go too, unless held.
  for (const n of names) {
    if (!n.endsWith(partEnd + LOCK_SUFFIX)) continue;
    const part = n.slice(0, -LOCK_SUFFIX.length);
    if (!names.includes(part) && !(await heldByOther(join(root, part)))) await unlink(join(root, n)).catch(() => undefined);
  }
  return out;
}

async function salvageOne(streamId: string, part: string, final: string): Promise<StalePartOutcome> {
  const removed = async (why: RemovedWhy, partBytes: number, detail?: string) => {
    await unlink(part).catch(() => undefined);
    return { streamId, kind: 'removed', why, partBytes, ...(detail === undefined ? {} : { detail }) } as const;
  };
  const st = await lstat(part).catch(() => undefined);
  if (st && !st.isFile()) return removed('not-a-file', 0);
  // Any kind of file by the final name (a finished copy, an operator's) is kept as it is.
  const taken = await lstat(final).catch(() => undefined);
  if (taken) return removed('existing', st?.size ?? 0);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(part, constants.O_RDWR | constants.O_NOFOLLOW);
  } catch (err) {
    return { streamId, kind: 'failed', partBytes: 0, detail: (err as Error).message };
  }
  let partBytes = 0;
  try {
    partBytes = (await fh.stat()).size;
    const index = new ClusterIndex();
    const buf = new Uint8Array(Math.min(SALVAGE_READ_BYTES, Math.max(1, partBytes)));
    for (let at = 0; at < partBytes && !index.stopped; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, at);
      if (bytesRead === 0) break;
      index.push(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
    // What made a live writer drop the stream (ClusterSense) drops it here too.
    if (index.refusal !== undefined) return await removed('refused', partBytes, index.refusal);
    const cut = index.wholeMediaCut();
    if (cut === undefined) return await removed('no-media', partBytes);
    if (cut < partBytes) await fh.truncate(cut);
    await fh.datasync();
    await fh.close();
    await renameDurably(nodeWriterIo, part, final);
    return { streamId, kind: 'salvaged', bytes: cut, partBytes };
  } catch (err) {
    return { streamId, kind: 'failed', partBytes, detail: (err as Error).message };
  } finally {
    await fh.close().catch(() => undefined);
  }
}
