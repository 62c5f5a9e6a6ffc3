// One upload of a publish (a WebRTC session to one entry server) as the Publisher tracks it.
import { encodeIngestControl, type IngestClientControl, type IngestLimits } from '../signaling/protocol/ingest-frames.js';
import type { PublisherPeer, UploadInfo } from './publisher-types.js';

export interface Upload extends UploadInfo {
  peer: PublisherPeer;
  connectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Next sequence number to put on the channel. */
  next: number;
  pumping: boolean;
  /** Resolves a pending write early (the upload failed). */
  cancelWrite: (() => void) | null;
  endSent: boolean;
  released: boolean;
  limits?: IngestLimits;
  sha256?: string;
}

/** A fresh upload for `choice`, connecting over `peer`. */
export function newUpload(choice: { serverId: string; region: string; sessionId: string }, role: 'primary' | 'backup', peer: PublisherPeer): Upload {
  return {
    serverId: choice.serverId,
    region: choice.region,
    role,
    sessionId: choice.sessionId,
    state: 'connecting',
    sentBytes: 0,
    ackedBytes: 0,
    ackedSeq: -1,
    peer,
    connectTimer: undefined,
    next: 0,
    pumping: false,
    cancelWrite: null,
    endSent: false,
    released: false,
  };
}

export function info(u: Upload): UploadInfo {
  const out: UploadInfo = {
    serverId: u.serverId,
    region: u.region,
    role: u.role,
    sessionId: u.sessionId,
    state: u.state,
    sentBytes: u.sentBytes,
    ackedBytes: u.ackedBytes,
    ackedSeq: u.ackedSeq,
  };
  if (u.error) out.error = { ...u.error };
  return out;
}

export function describeFailures(uploads: UploadInfo[]): string {
  return uploads.map((u) => `${u.serverId}: ${u.error ? `${u.error.code} (${u.error.message})` : u.state}`).join('; ') || 'no server';
}

/** How an upload's channel failed: the Publisher's one failure path for it. */
export type UploadFailure = (code: 'write-failed' | 'send-failed', message: string) => void;

/** Writes one frame, resolving once the channel takes more (backpressure), or early when the upload fails. */
export function writeFrame(u: Upload, frame: Uint8Array, fail: UploadFailure): Promise<void> {
  return new Promise<void>((resolve) => {
    u.cancelWrite = resolve;
    try {
      u.peer.write(frame, (err) => {
        u.cancelWrite = null;
        if (err && u.state !== 'failed') fail('write-failed', err.message);
        resolve();
      });
    } catch (err) {
      u.cancelWrite = null;
      fail('write-failed', (err as Error).message);
      resolve();
    }
  });
}

/** Sends one control message on the upload's channel. */
export function sendControl(u: Upload, fail: UploadFailure, msg: IngestClientControl): void {
  try {
    u.peer.send(encodeIngestControl(msg));
  } catch (err) {
    fail('send-failed', (err as Error).message);
  }
}

/** The strictest quota among the uploads still alive (for pacing a file upload). */
export function strictestLimits(uploads: Iterable<Upload>): IngestLimits | undefined {
  let out: IngestLimits | undefined;
  for (const u of uploads) {
    if (!u.limits || u.state === 'failed') continue;
    out = !out
      ? { ...u.limits }
      : { maxBitrateBps: Math.min(out.maxBitrateBps, u.limits.maxBitrateBps), burstBytes: Math.min(out.burstBytes, u.limits.burstBytes), maxBytes: Math.min(out.maxBytes, u.limits.maxBytes) };
  }
  return out;
}
