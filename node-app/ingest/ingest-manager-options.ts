// What an IngestManager is given: the store, the role, the hub and catalog callbacks, the WebRTC and disk seams.
import type { IngestLimits } from '../../signaling/protocol/ingest-frames.js';
import type { OwnDelta } from '../../signaling/protocol/types.js';
import type { DiskStore } from '../storage/disk-store.js';
import type { SessionLog, Wrtc } from '../webrtc/peer.js';
import type { WriterIo } from './writer-io.js';

export interface IngestManagerOptions {
  store: DiskStore;
  /** This server takes broadcasts at all (the `ingest` role). */
  enabled: boolean;
  limits?: IngestLimits;
  /** Sends a signal to the publisher of a session (through the hub). */
  signal: (sessionId: string, data: unknown) => void;
  /** The hub should forget this session (`session-close`). */
  sessionClosed: (sessionId: string) => void;
  /** Reports state-table deltas about this server. */
  report: (deltas: OwnDelta[]) => void;
  /**
   * Asks for a poster of a live stream from its growing file (`source`), once its first keyframe
   * Cluster is on disk; `posterMade` tells the manager it exists.
   */
  poster?: (streamId: string, source: string, attempt: number) => void;
  /** A live stream's copy here was removed (it failed): its poster goes too, so nothing of it is left. */
  dropPoster?: (streamId: string) => void;
  /** A stream was finalized into storage: rescan it so the catalog (and `storage-add`) has it. */
  finalized: (streamId: string) => Promise<void>;
  /** A stream finalized here was reopened (its publisher carries it on): rescan, so the catalog lets the recording go. */
  reopened?: (streamId: string) => Promise<void>;
  /** When the stream started on any server (from the state table), so quotas count from there. */
  knownStart?: (streamId: string) => number | undefined;
  /** Whether one more session fits (the server's session limit). */
  hasCapacity?: () => boolean;
  wrtc?: Wrtc;
  iceServers?: RTCIceServer[];
  log?: SessionLog & { child?(b: object): SessionLog };
  fsyncIntervalMs?: number;
  abandonAfterMs?: number;
  /** How long a finalized stream stays reopenable, ms (default FINISHED_KEPT_MS), and how many at once (MAX_FINISHED_KEPT): finished-streams.ts. */
  finishedKeptMs?: number;
  maxFinishedKept?: number;
  io?: WriterIo;
}
