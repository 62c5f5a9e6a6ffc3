// Child processes of the peers benchmark: spawn with captured output, wait for a line, stop by pid,
// and read a process's CPU time and resident memory from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export { cpuMs } from '../cpu-time.js';

export interface PeerProc {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const live = new Set<ChildProcess>();
let exitHook = false;

/** If the bench dies (an uncaught error, Ctrl-C), its peers must not outlive it. */
function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)));
}

/** Keeps the last megabyte of a process's output, for error messages. */
export function spawnProc(
  name: string,
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; stdin?: 'pipe' | 'ignore' } = {},
): PeerProc {
  const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  killOnExit(child);
  child.once('error', (err) => (out += `\nspawn error: ${err.message}`));
  return { name, child, output: () => out, exited };
}

/** Resolves when the output matches `re`; rejects when the process exits first or on timeout. */
export async function waitForLine(p: PeerProc, re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = p.output().match(re);
    if (m) return m;
    if (p.child.exitCode !== null || p.child.signalCode !== null)
      throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before ${re}:\n${p.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`${p.name}: timed out waiting for ${re}:\n${p.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProc(p: PeerProc | undefined, graceMs = 3_000): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const gone = await Promise.race([p.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs))]);
  if (!gone) {
    p.child.kill('SIGKILL');
    await p.exited;
  }
}

/** Resident set size of `pid` (MB); NaN when the process is gone. */
export function rssMb(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** The pids of `pid`'s children (one level; nginx workers, the janus under `ip netns exec`). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Resolves once ffmpeg's `-stats` line reports at least `frames` frames out. */
export async function waitForFfmpegFrames(p: PeerProc, frames: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = [...p.output().matchAll(/frame=\s*(\d+)/g)];
    if (all.length && Number(all[all.length - 1]![1]) >= frames) return;
    if (p.child.exitCode !== null || p.child.signalCode !== null)
      throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.output().slice(-2000)}`);
    if (Date.now() > deadline)
      throw new Error(`${p.name}: fewer than ${frames} frames out after ${timeoutMs} ms:\n${p.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves once `url` answers 2xx; rejects when `p` exits first or on timeout. */
export async function waitForHttp(p: PeerProc, url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    if (p.child.exitCode !== null || p.child.signalCode !== null)
      throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before ${url} answered:\n${p.output().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`${p.name}: ${url} did not answer in ${timeoutMs} ms:\n${p.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
