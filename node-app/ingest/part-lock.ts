// Who owns a live `.part` file: a `<part>.lock` beside it naming the writing process (pid + start time).
//
// Why a lock file and not flock(2): Node has no flock without a native addon, and
// the owner must be checkable by a process that starts later (the stale-part
// clean-up) without racing the owner for the lock. The pid alone could be reused
// after a crash, so the lock also carries the process's start time from
// /proc/<pid>/stat: a reused pid has another start time and the lock is stale.
// A lock we cannot read or judge is treated as live: leaking a stale file is
// better than deleting a live one.
import { readFileSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';

export const LOCK_SUFFIX = '.lock';

interface Owner {
  pid: number;
  /** Process start time in clock ticks since boot (Linux); '' where /proc is missing. */
  start: string;
}

/** Start time of `pid` (field 22 of /proc/<pid>/stat), '' when unknown, undefined when the process is gone. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return '';
    // No /proc at all (not Linux): fall back to asking the kernel whether the pid exists.
    try {
      readFileSync('/proc/self/stat');
      return undefined;
    } catch {
      return pidExists(pid) ? '' : undefined;
    }
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const self: Owner = { pid: process.pid, start: startTimeOf(process.pid) ?? '' };

/** Whether the process named by an owner record is still running (the same process, not a reused pid). */
function ownerAlive(o: Owner): boolean {
  const start = startTimeOf(o.pid);
  if (start === undefined) return false;
  return o.start === '' || start === '' || start === o.start;
}

async function readOwner(lockPath: string): Promise<Owner | 'none' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'none' : 'unreadable';
  }
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    if (Number.isSafeInteger(o.pid) && (o.pid as number) > 0 && typeof o.start === 'string')
      return { pid: o.pid as number, start: o.start };
  } catch {
    // Half-written by a process killed mid-claim: nobody can own it.
  }
  return { pid: 0, start: '' };
}

/** Whether another running process holds `partPath` (this process's own locks do not count). */
export async function heldByOther(partPath: string): Promise<boolean> {
  const o = await readOwner(partPath + LOCK_SUFFIX);
  if (o === 'none') return false;
  if (o === 'unreadable') return true;
  if (o.pid === self.pid && (o.start === self.start || o.start === '' || self.start === '')) return false;
  return o.pid > 0 && ownerAlive(o);
}

/**
 * Claims `partPath` for this process. Resolves false when another running
 * process holds it; a stale lock (its process gone) is replaced.
 */
export async function claimPart(partPath: string): Promise<boolean> {
  const lockPath = partPath + LOCK_SUFFIX;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(lockPath, 'wx', 0o644);
      try {
        await fh.writeFile(JSON.stringify(self));
      } finally {
        await fh.close();
      }
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await heldByOther(partPath)) return false;
    await unlink(lockPath).catch(() => undefined);
  }
  return false;
}

/** Drops this process's lock on `partPath` (idempotent; never removes another process's lock). */
export async function releasePart(partPath: string): Promise<void> {
  const o = await readOwner(partPath + LOCK_SUFFIX);
  if (typeof o === 'object' && o.pid === self.pid) await unlink(partPath + LOCK_SUFFIX).catch(() => undefined);
}
