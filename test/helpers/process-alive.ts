// Whether a process runs, read from /proc (Linux): a zombie has exited, only its parent (init, for an orphan) has not reaped it.
import { readFileSync } from 'node:fs';

export function processRuns(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
