// A small tmpfs to fill up: mounted on a new temp directory, unmounted (lazily if busy) and removed after.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Tmpfs {
  dir: string;
  bytes: number;
  /** Idempotent; never throws (a lazy unmount when the plain one fails). */
  unmount(): void;
}

/**
 * Mounts a `sizeBytes` tmpfs. Needs root (CI runs as root); anything else fails
 * with a message that says so, rather than letting the row be skipped.
 */
export function mountTmpfs(sizeBytes: number): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), 'baton-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as Error & { stderr?: Buffer };
    const uid = process.getuid?.();
    throw new Error(
      `cannot mount a ${sizeBytes}-byte tmpfs on ${dir} (uid ${uid}): ${(e.stderr?.toString().trim() || e.message).replace(/\.+$/, '')}. ` +
        'The disk-full row needs root (or CAP_SYS_ADMIN) to make a small filesystem; run it as root, as CI does.',
    );
  }
  let mounted = true;
  return {
    dir,
    bytes: sizeBytes,
    unmount() {
      if (!mounted) return;
      mounted = false;
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        try {
          execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
        } catch {
          // Left mounted: nothing more a test can do.
        }
      }
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // A lazily unmounted directory may still be busy.
      }
    },
  };
}
