// What a live writer takes and tells: its options, events, states and the verdict on each chunk; apart from
// live-writer.ts so that file reads as the write path alone.
import type { IngestLimits } from '../../signaling/protocol/ingest-frames.js';
import type { IngestError } from './errors.js';
import type { WebmHeadCheck } from './webm-head-check.js';
import type { WriterIo } from './writer-io.js';

export type WriterState = 'open' | 'ending' | 'finalized' | 'failed';

export type AppendResult =
  /** Queued for writing; acknowledged once fsynced (`durable` event). */
  | { kind: 'stored' }
  /** Already stored: nothing written; re-ack when `durable` (else the next `durable` covers it). */
  | { kind: 'duplicate'; durable: boolean }
  /** Chunks are missing before this one: the publisher must resend from `expected`. */
  | { kind: 'gap'; expected: number }
  /** Refused; fatal ones (quotas) also fail the writer. */
  | { kind: 'refused'; error: IngestError; fatal: boolean };

export interface Finalized {
  bytes: number;
  sha256: string;
  path: string;
}

export interface LiveWriterEvents {
  /** New bytes are readable (not necessarily durable yet). */
  grew: [bytes: number];
  /** Every chunk up to `seq` is fsynced. */
  durable: [seq: number, bytes: number];
  finalized: [info: Finalized];
  /** Once; the partial copy is removed or, for quota failures, salvaged (see `salvaged`). */
  failed: [error: IngestError];
}

export interface LiveWriterOptions {
  streamId: string;
  /** Where the finished asset goes (`<storage>/<id>.webm`); the live file is this plus PART_SUFFIX. */
  finalPath: string;
  mime: string;
  limits: IngestLimits;
  /** When the stream started anywhere (ms since epoch): the average-bitrate quota counts from here. Default: now. */
  startedAtMs?: number;
  fsyncIntervalMs?: number;
  /** Bytes kept in memory for readers of the live edge. Default TAIL_BYTES (write-tail.ts). */
  tailBytes?: number;
  io?: WriterIo;
  /** Checks the stream's first bytes (WebM, accepted codecs) before they are stored; none when absent. */
  headCheck?: WebmHeadCheck;
  /** Wall clock, ms since epoch. */
  now?: () => number;
}
