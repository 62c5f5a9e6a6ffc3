// What this server's load is (sessions, egress rate, CPU) and when a change is worth a heartbeat.
import type { AssetViewers, ServerLoad } from '../../signaling/protocol/index.js';

/** Load is re-sent at least this often even when it did not change. */
export const LOAD_REFRESH_MS = 10_000;
/** Egress changes smaller than this (and under 10 %) are not worth a load delta. */
export const EGRESS_REPORT_MIN_MBPS = 0.05;
/** CPU changes (cores) smaller than this are not worth a load delta. */
const CPU_REPORT_MIN = 0.05;
/** A reported CPU figure never exceeds this many cores (a clock jump must not look like a meltdown). */
const CPU_MAX_CORES = 64;

export interface LoadCounts {
  sessions: number;
  ingestSessions: number;
  storageReadBytes: number;
  /** Viewer sessions per asset (already bounded by the caller); absent = not reported. */
  viewers?: AssetViewers[];
}

/**
 * Rates since the previous measurement: egress (bytes counted by `addEgress`)
 * and this process's CPU. `now` and the CPU reading are injected for tests.
 */
export class LoadMeter {
  readonly #now: () => number;
  readonly #cpuUsage: () => NodeJS.CpuUsage;
  #egressBytes = 0;
  #egressMark: { bytes: number; atMs: number };
  #cpuMark: { usage: NodeJS.CpuUsage; atMs: number };

  constructor(now: () => number = Date.now, cpuUsage: () => NodeJS.CpuUsage = () => process.cpuUsage()) {
    this.#now = now;
    this.#cpuUsage = cpuUsage;
    this.#egressMark = { bytes: 0, atMs: now() };
    this.#cpuMark = { usage: cpuUsage(), atMs: now() };
  }

  /** Media bytes sent to viewers since start. */
  get egressBytes(): number {
    return this.#egressBytes;
  }

  addEgress(bytes: number): void {
    this.#egressBytes += bytes;
  }

  /** The load now; rates cover the time since the last call. */
  measure(counts: LoadCounts): ServerLoad {
    const now = this.#now();
    const dt = Math.max(1, now - this.#egressMark.atMs);
    const egressMbps = ((this.#egressBytes - this.#egressMark.bytes) * 8) / (dt * 1000);
    this.#egressMark = { bytes: this.#egressBytes, atMs: now };
    const usage = this.#cpuUsage();
    const cpuDt = Math.max(1, now - this.#cpuMark.atMs);
    const cpu = (usage.user - this.#cpuMark.usage.user + usage.system - this.#cpuMark.usage.system) / 1000 / cpuDt;
    this.#cpuMark = { usage, atMs: now };
    return {
      sessions: counts.sessions,
      ingestSessions: counts.ingestSessions,
      egressMbps: Math.round(egressMbps * 100) / 100,
      cpu: Math.min(CPU_MAX_CORES, Math.round(cpu * 100) / 100),
      storageReadBytes: counts.storageReadBytes,
      ...(counts.viewers ? { viewers: counts.viewers } : {}),
    };
  }
}

/** The last load this server reported, and when. */
export interface ReportedLoad {
  load: ServerLoad;
  atMs: number;
}

/** Progress of the rendition being made that is worth a load report of its own (share of the media). */
export const RENDITION_PROGRESS_STEP = 0.1;

/**
 * Whether a heartbeat should carry `load` (a table delta at the hub) rather than
 * be empty: only real changes, a session opened since the last beat, or the
 * periodic refresh. Pure: `now` is passed in.
 */
export function loadWorthReporting(prev: ReportedLoad | undefined, load: ServerLoad, opened: boolean, now: number): boolean {
  return (
    !prev ||
    prev.load.sessions !== load.sessions ||
    prev.load.ingestSessions !== load.ingestSessions ||
    // The director sends no broadcast where the storage refuses files: say so at once, and when it takes them again.
    prev.load.storageWritable !== load.storageWritable ||
    // Catalogs show how many watch each asset: a viewer moving between assets is a change too.
    !sameViewers(prev.load.viewers, load.viewers) ||
    // The dashboard shows the rendition being made: a new one, or another tenth of it done.
    prev.load.renditions?.id !== load.renditions?.id ||
    Math.abs((prev.load.renditions?.progress ?? 0) - (load.renditions?.progress ?? 0)) >= RENDITION_PROGRESS_STEP ||
    Math.abs(prev.load.egressMbps - load.egressMbps) > Math.max(EGRESS_REPORT_MIN_MBPS, prev.load.egressMbps * 0.1) ||
    Math.abs(prev.load.cpu - load.cpu) > CPU_REPORT_MIN ||
    // The director counted each session it sent here (a reservation in its replica) until this
    // server's next load report: after any session opened, report, even if the count is back where it was.
    opened ||
    now - prev.atMs > LOAD_REFRESH_MS
  );
}

function sameViewers(a: AssetViewers[] | undefined, b: AssetViewers[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v.id === y[i]!.id && v.n === y[i]!.n);
}
