// A process's CPU time for the benchmarks' per-join and per-viewer figures, at nanosecond precision.
//
// /proc/<pid>/stat counts user + system time in 10-ms ticks: a 5-s window of a mostly idle server is
// a few hundred ticks for the whole cluster, and one step's reading moved by more than the difference
// between the peers compared. The scheduler's own count (`/proc/<pid>/task/<tid>/schedstat`, run time
// in ns) is exact, but per thread: a process's time is the sum over its threads, and a thread that
// has exited is gone from `task/`. So every thread's last reading is kept, and one that disappears
// leaves it behind: only what an exited thread ran after its last reading is missed (the main
// thread and libdatachannel's, libuv's and V8's workers live as long as the process).
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux

interface Seen {
  /** Run time, ns, by thread id, at the last reading. */
  threads: Map<number, number>;
  /** Run time of threads that have exited since the first reading, ns. */
  exited: number;
}

const seen = new Map<number, Seen>();

/** The thread's run time, ns, or undefined when it is gone or the kernel keeps no schedstat. */
function threadRunNs(pid: number, tid: number): number | undefined {
  try {
    const run = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(run) ? run : undefined;
  } catch {
    return undefined;
  }
}

/** User + system time in clock ticks (10 ms), for kernels without schedstat; NaN when the process is gone. */
function tickMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return NaN;
  }
}

/**
 * CPU time `pid` has used since this module first read it, plus what its threads alive then had
 * used, ms (ns precision); differences between two readings are what the benchmarks use. NaN when
 * the process is gone.
 */
export function cpuMs(pid: number): number {
  let tids: number[];
  try {
    tids = readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    seen.delete(pid);
    return NaN;
  }
  const s = seen.get(pid) ?? { threads: new Map<number, number>(), exited: 0 };
  const now = new Map<number, number>();
  for (const tid of tids) {
    const run = threadRunNs(pid, tid);
    if (run !== undefined) now.set(tid, run);
  }
  if (now.size === 0) return tickMs(pid);
  // A thread gone, or its id reused by a new thread (its count restarted): the old one's time stays.
  for (const [tid, run] of s.threads) if ((now.get(tid) ?? -1) < run) s.exited += run;
  s.threads = now;
  seen.set(pid, s);
  let total = s.exited;
  for (const run of now.values()) total += run;
  return total / 1e6;
}
