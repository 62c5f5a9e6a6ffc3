// Child processes that die with their server: a server killed by SIGKILL (or the OOM killer) runs no exit handler, so
// only the kernel can take its ffmpeg with it. `setpriv --pdeathsig KILL` (util-linux) asks it to: the child gets
// SIGKILL the moment its parent dies, and keeps that through `nice` and ffmpeg (each one execs the next, same process).
// ffmpeg itself does not notice a dead parent: it ignores SIGPIPE and goes on after its `-progress` pipe breaks
// (measured with ffmpeg 5.1: it ran the encode to its end, 8 s after the server was gone).
import { spawnSync } from 'node:child_process';

/** Whether `setpriv --pdeathsig` works here (Linux with util-linux ≥ 2.33); asked once per process. */
let lifeline: boolean | undefined;

function hasLifeline(): boolean {
  if (lifeline === undefined) {
    lifeline =
      process.platform === 'linux' &&
      spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore', timeout: 5_000 }).status === 0;
  }
  return lifeline;
}

/**
 * Runs the command (`"$@"`) only while the process `$0` is still its parent. setpriv sets the death signal in the
 * child; a server that died before that (between the fork and the prctl) left it to init, and no signal would come.
 * A missing command is exit 127 (sh's `exec`), as before.
 */
const PARENT_CHECK = 'test "$PPID" = "$0" && exec "$@"; exit 1';

/**
 * The command line that runs `bin args` so that it is killed when this process dies, however it dies: `bin args`
 * behind `setpriv --pdeathsig KILL --` where that works, else unchanged. A `bin` that is missing then shows as exit
 * 127 (as with `nice`), not as the spawn's ENOENT. Every program in the chain execs the next: the child's pid is
 * ffmpeg's.
 *
 * Spawn it from the main thread: the kernel sends the signal when the thread that forked the child ends.
 */
export function diesWithServer(bin: string, args: readonly string[]): [string, string[]] {
  return diesWithParent(process.pid, bin, args);
}

/** diesWithServer for a parent `parentPid` (a test names another to see the command refused). */
export function diesWithParent(parentPid: number, bin: string, args: readonly string[]): [string, string[]] {
  if (!hasLifeline()) return [bin, [...args]];
  return ['setpriv', ['--pdeathsig', 'KILL', '--', 'sh', '-c', PARENT_CHECK, String(parentPid), bin, ...args]];
}
