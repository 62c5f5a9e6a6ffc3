// What the broadcast page shows: the phase, the assignment, upload figures and notices.
import type { IngestChoice, PublishReply } from '../../signaling/protocol/messages.js';
import type { PublishResult, UploadInfo } from '../../client-sdk/publisher.js';
import type { Problem } from './broadcast-source.js';

/**
 * `idle` (not broadcasting), `starting` (asking for entry servers and connecting),
 * `live` (recording and uploading), `ending` (last chunks out, servers finalizing),
 * `ended` (the copies are stored, or the broadcast failed: see `problem`).
 */
export type BroadcastPhase = 'idle' | 'starting' | 'live' | 'ending' | 'ended';

export interface Notice {
  kind: 'failover' | 'warning';
  text: string;
  atMs: number;
}

/** Where the broadcaster says they are: typed text, or coordinates from the device. */
export type LocationInput = { kind: 'text'; text: string } | { kind: 'device'; lat: number; lon: number; accuracyM: number };

export interface GoLiveOptions {
  streamKey: string;
  location: LocationInput;
  /** Desired stream id; the hub names the stream when empty. */
  streamId?: string;
  /** What viewers see instead of the stream id; stored with the recording. */
  title?: string;
  description?: string;
}

export interface BroadcastStatus {
  phase: BroadcastPhase;
  streamId: string | null;
  /** The MSE type of the stream being recorded. */
  mime: string | null;
  /** The first assignment: primary and backup with their estimates. */
  assignment: PublishReply | null;
  /** Every entry server assigned so far (replacements included), by server id. */
  choices: Record<string, IngestChoice>;
  uploads: UploadInfo[];
  /** Stream bytes recorded and handed to the publisher. */
  bytes: number;
  /** Bytes put on every channel together (both copies, framing, resends). */
  wireBytes: number;
  /** Bytes held for resending. */
  bufferedBytes: number;
  /** The stream's own bitrate (recorder output), bits/s over the last RATE_WINDOW_MS. */
  streamBps: number | null;
  /** What leaves this browser for all servers together, bits/s. */
  uploadBps: number | null;
  /** `performance.now()` when recording started. */
  startedAt: number | null;
  elapsedMs: number;
  /** How many watch the stream across the cluster (asked every VIEWERS_POLL_MS while live); null before an answer. */
  viewers: number | null;
  notices: Notice[];
  result: PublishResult | null;
  problem: Problem | null;
}

export function idleStatus(): BroadcastStatus {
  return {
    phase: 'idle',
    streamId: null,
    mime: null,
    assignment: null,
    choices: {},
    uploads: [],
    bytes: 0,
    wireBytes: 0,
    bufferedBytes: 0,
    streamBps: null,
    uploadBps: null,
    startedAt: null,
    elapsedMs: 0,
    viewers: null,
    notices: [],
    result: null,
    problem: null,
  };
}

/** Upload rates are averaged over this window (ms). */
const RATE_WINDOW_MS = 2_000;
/** A rate is shown once the window spans this long (s). */
const MIN_RATE_SPAN_S = 0.4;

/** Stream and wire byte counts sampled over a sliding window: the rates shown on screen. */
export class RateWindow {
  #samples: Array<{ t: number; bytes: number; wire: number }> = [];

  reset(): void {
    this.#samples = [];
  }

  /** Adds a sample at `t` (ms) and returns the rates over the window (null until it spans enough). */
  add(t: number, bytes: number, wire: number): { streamBps: number; uploadBps: number } | null {
    this.#samples.push({ t, bytes, wire });
    while (this.#samples.length > 2 && t - this.#samples[0]!.t > RATE_WINDOW_MS) this.#samples.shift();
    const first = this.#samples[0]!;
    const dt = (t - first.t) / 1000;
    return dt > MIN_RATE_SPAN_S ? { streamBps: ((bytes - first.bytes) * 8) / dt, uploadBps: ((wire - first.wire) * 8) / dt } : null;
  }
}
