// The start-up sweep of `.part` files (and their locks) a crash left in storage; apart from the manager because it
// reads the directory, not the streams.
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PART_SUFFIX } from './live-writer.js';
import { LOCK_SUFFIX, heldByOther } from './part-lock.js';

/**
 * Removes `.part` files a crash left behind in `root` (without their sequence numbers
 * they cannot be resumed), and their locks. A `.part` whose lock names another running
 * process is that process's live stream and stays, as does one whose stream id
 * `inUse` says this process writes. Returns the `.part` names removed.
 */
export async function removeStaleParts(root: string, inUse: (streamId: string) => boolean): Promise<string[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  const partEnd = '.webm' + PART_SUFFIX;
  const candidates = names.filter((n) => n.endsWith(partEnd) && !inUse(n.slice(0, -partEnd.length)));
  const stale: string[] = [];
  for (const n of candidates) if (!(await heldByOther(join(root, n)))) stale.push(n);
  // Locks whose `.part` is gone (a crash between the two unlinks) go too, unless held.
  for (const n of names) {
    if (!n.endsWith(partEnd + LOCK_SUFFIX)) continue;
    const part = n.slice(0, -LOCK_SUFFIX.length);
    if (!names.includes(part) && !(await heldByOther(join(root, part)))) stale.push(n);
  }
  for (const n of stale) {
    await unlink(join(root, n)).catch(() => undefined);
    if (n.endsWith(partEnd)) await unlink(join(root, n + LOCK_SUFFIX)).catch(() => undefined);
  }
  return stale.filter((n) => n.endsWith(partEnd));
}
