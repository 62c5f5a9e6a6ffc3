// Server cost per viewer: the peer's server processes' CPU time and resident memory with N headless
// viewers against the same window with none (so the feed's own cost is not charged to viewers).
import type { RunningPeer, NodeViewer } from './peer.js';
import { cpuMs, rssMb } from './proc.js';
import { lateShare } from './late.js';
import { percentile } from '../sampling.js';

export interface LoadResult {
  viewers: number;
  /** (CPU with N viewers − CPU with none) ÷ (N × window), ms of CPU per viewer-second. */
  cpuMsPerViewerS: number;
  /** (RSS with N viewers − RSS with none) ÷ N, MB; each RSS the median of the window's slices. */
  rssMbPerViewer: number;
  /** How far the idle window's RSS moved between its slices (max − min, MB, the whole peer): below this a difference is noise. */
  rssIdleSpreadMb: number;
  /** Viewers that received media during the window (all N, or the server did not hold them). */
  receiving: number;
  /** Video frames the viewers received during the window, and the share of them late (late.ts). */
  frames: number;
  lateShare: number;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const cpuOf = (peer: RunningPeer) => sum(peer.serverPids().map(cpuMs));
const rssOf = (peer: RunningPeer) => sum(peer.serverPids().map(rssMb));

/** Sub-windows a window is metered in; its CPU is their median, scaled to the window. */
const SLICES = 5;

/** What one metered window read. */
export interface Metered {
  cpuMs: number;
  /** Median of the RSS read at the end of each slice (MB). */
  rssMb: number;
  /** Max − min of those RSS readings (MB). */
  rssSpreadMb: number;
}

/**
 * CPU ms over `windowMs` with the viewers the peer has now, and RSS. The window is read
 * in SLICES equal slices and counts as SLICES × their median: a transient of the peer's own (the
 * looped feed republished, a GC of the step before's sessions) falls in one slice and is not
 * charged to the idle or the loaded window (one such burst read 885 ms for an idle 5 s that
 * otherwise reads ≈ 200, and the step's viewers then read as free). RSS likewise: a Node peer's
 * heap grows and is collected by tens of MB within seconds, and one reading at the window's end
 * read −22.6 MB for one viewer.
 */
async function meter(peer: RunningPeer, windowMs: number): Promise<Metered> {
  const slices: number[] = [];
  const rss: number[] = [];
  let c = cpuOf(peer);
  for (let i = 0; i < SLICES; i++) {
    await new Promise((r) => setTimeout(r, windowMs / SLICES));
    const now = cpuOf(peer);
    slices.push(now - c);
    rss.push(rssOf(peer));
    c = now;
  }
  return { cpuMs: percentile(slices, 50) * SLICES, rssMb: percentile(rss, 50), rssSpreadMb: Math.max(...rss) - Math.min(...rss) };
}

/** The idle figures (no viewer), to subtract. */
export function idleLoad(peer: RunningPeer, windowMs: number): Promise<Metered> {
  return meter(peer, windowMs);
}

/** Starts `n` Node viewers, lets them settle, meters one window, closes them. */
export async function loadRun(peer: RunningPeer, n: number, idle: Metered, o: { windowMs: number; settleMs: number }): Promise<LoadResult> {
  const viewers: NodeViewer[] = [];
  try {
    // A few at a time: a join storm is not what this measures.
    for (let i = 0; i < n; i += 5)
      viewers.push(...(await Promise.all(Array.from({ length: Math.min(5, n - i) }, () => peer.startNodeViewer()))));
    await new Promise((r) => setTimeout(r, o.settleMs));
    const before = viewers.map((v) => v.bytes());
    // Counted over the window only: a join's burst (a keyframe Cluster at once) is not lateness.
    const lateBefore = viewers.map((v) => v.late());
    const m = await meter(peer, o.windowMs);
    const receiving = viewers.filter((v, i) => v.bytes() > before[i]!).length;
    const late = lateShare(
      viewers.map((v, i) => {
        const now = v.late();
        return { frames: now.frames - lateBefore[i]!.frames, late: now.late - lateBefore[i]!.late };
      }),
    );
    return {
      viewers: n,
      // A server as idle under load as at rest can read a little below its idle window, which is no
      // negative cost. Below the idle window reads 0.
      cpuMsPerViewerS: Math.max(0, m.cpuMs - idle.cpuMs) / (n * (o.windowMs / 1000)),
      rssMbPerViewer: (m.rssMb - idle.rssMb) / n,
      rssIdleSpreadMb: idle.rssSpreadMb,
      receiving,
      frames: late.frames,
      lateShare: late.share,
    };
  } finally {
    await Promise.all(viewers.map((v) => v.close().catch(() => undefined)));
  }
}
