// A live viewer for the ingest fault rows: watchStream, keeping every chunk, when it came and from which server.
import { watchStream, type WatchResult } from '../../../node-app/delivery/node-viewer.js';

export interface LiveViewer {
  label: string;
  /** Every in-order chunk. */
  chunks: Buffer[];
  /** performance.now() of each chunk, in order. */
  arrivals: number[];
  /** The server each chunk came from. */
  servers: string[];
  /** Resolves once the first byte arrived; rejects when the watch ends or fails without one. */
  firstData: Promise<void>;
  /** The watch's end (the stream ended) or its failure. */
  done: Promise<WatchResult>;
  received: () => Buffer;
}

export function startLiveViewer(hubUrl: string, assetId: string, label: string, timeoutMs = 120_000, avoid?: string[]): LiveViewer {
  const chunks: Buffer[] = [];
  const arrivals: number[] = [];
  const servers: string[] = [];
  let first!: () => void;
  let never!: (err: unknown) => void;
  const firstData = new Promise<void>((resolve, reject) => {
    first = resolve;
    never = reject;
  });
  firstData.catch(() => undefined);
  const done = watchStream({ hubUrl, assetId, timeoutMs, avoid }, (bytes, viewer) => {
    chunks.push(Buffer.from(bytes));
    arrivals.push(performance.now());
    servers.push(viewer.session?.server.id ?? '?');
    if (chunks.length === 1) first();
  });
  done.then(
    () => never(new Error(`${label}: the stream ended before any byte arrived`)),
    (err: unknown) => never(err),
  );
  return { label, chunks, arrivals, servers, firstData, done, received: () => Buffer.concat(chunks) };
}

/** Longest wait between chunks that ends after `fromMs` (the gap that spans a failure counts). */
export function longestGapAfter(v: LiveViewer, fromMs: number): number {
  let gap = 0;
  for (let i = 1; i < v.arrivals.length; i++) if (v.arrivals[i]! > fromMs) gap = Math.max(gap, v.arrivals[i]! - v.arrivals[i - 1]!);
  return gap;
}
