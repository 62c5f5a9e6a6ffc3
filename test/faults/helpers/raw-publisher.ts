// A hand-driven broadcaster for the ingest fault rows: it speaks the ingest channel's frames itself,
// so a test can send what no well-behaved Publisher would (1-byte chunks as fast as the channel takes).
import type { Socket } from 'socket.io-client';
import { createPeer, type Peer } from '../../../node-app/webrtc/peer.js';
import {
  decodeIngestServerFrame,
  encodeChunk,
  encodeIngestControl,
  type IngestServerControl,
} from '../../../signaling/protocol/ingest-frames.js';
import type { Ack, PublishReply } from '../../../signaling/protocol/index.js';
import { connect } from './net.js';

/** The sender waits while more than this is queued on the channel (keeps the test process small). */
const MAX_BUFFERED_BYTES = 256 * 1024;

export interface RawPublisher {
  reply: PublishReply;
  socket: Socket;
  /** Control frames the server sent (ready, ack, error…). */
  readonly received: IngestServerControl[];
  /** Chunks sent so far. */
  readonly chunks: number;
  /** Resolves once the channel is closed (by either side), with the server's last error code if any. */
  readonly closed: Promise<{ error?: string }>;
  /**
   * Sends `source` `chunkBytes` at a time from chunk 0, as fast as the channel takes them,
   * until `stop()` or the channel closes; resolves with the number of chunks sent.
   */
  flood(source: Uint8Array, chunkBytes: number): Promise<number>;
  stop(): void;
  close(): void;
}

/** Publishes `streamId` through the hub and opens the primary's ingest channel (hello → ready). */
export async function openRawPublisher(hubUrl: string, streamId: string, mime = 'video/webm; codecs="vp8"'): Promise<RawPublisher> {
  const socket = await connect(hubUrl);
  const reply: Ack<PublishReply> = await socket
    .timeout(10_000)
    .emitWithAck('publish', { streamKey: 'test-key', location: 'Lisbon', streamId });
  if (!reply.ok) {
    socket.close();
    throw Object.assign(new Error(`publish refused: ${reply.code}: ${reply.message}`), { code: reply.code });
  }
  const sessionId = reply.primary.sessionId;
  // Only the primary is used: the backup's session is let go so it holds nothing.
  if (reply.backup) socket.emit('leave', { sessionId: reply.backup.sessionId });
  const peer: Peer = createPeer({ initiator: true });
  peer.on('signal', (data) => socket.emit('signal', { sessionId, data }));
  socket.on('signal', (m: { sessionId: string; data: unknown }) => {
    if (m.sessionId === sessionId) peer.signal(m.data as never);
  });
  const received: IngestServerControl[] = [];
  let lastError: string | undefined;
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  peer.on('data', (d: unknown) => {
    const r = decodeIngestServerFrame(typeof d === 'string' ? d : Buffer.from(d as Uint8Array).toString());
    if (!r.ok) return;
    received.push(r.frame.msg);
    if (r.frame.msg.t === 'ready') readyResolve();
    if (r.frame.msg.t === 'error') lastError = r.frame.msg.code;
  });
  const closed = new Promise<{ error?: string }>((resolve) => {
    peer.once('close', () => resolve({ error: lastError }));
    peer.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the ingest channel did not open in 20 s')), 20_000);
    peer.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  peer.send(encodeIngestControl({ t: 'hello', streamId: reply.streamId, mime }));
  await Promise.race([ready, closed.then(() => Promise.reject(new Error(`closed before ready (${lastError ?? 'no error'})`)))]);
  let chunks = 0;
  let stopped = false;
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  const flood = async (source: Uint8Array, chunkBytes: number): Promise<number> => {
    let offset = 0;
    for (let seq = 0; !stopped && !isClosed && offset < source.byteLength; seq++) {
      const channel = (peer as unknown as { _channel?: { bufferedAmount: number } })._channel;
      while (channel && channel.bufferedAmount > MAX_BUFFERED_BYTES && !stopped && !isClosed) await new Promise((r) => setTimeout(r, 1));
      if (stopped || isClosed) break;
      const payload = source.subarray(offset, Math.min(source.byteLength, offset + chunkBytes));
      try {
        peer.send(encodeChunk(seq, offset, payload));
      } catch {
        break; // the channel closed under us
      }
      offset += payload.byteLength;
      chunks++;
      // Let the event loop deliver the server's frames now and then.
      if (chunks % 256 === 0) await new Promise((r) => setImmediate(r));
    }
    return chunks;
  };
  return {
    reply,
    socket,
    received,
    get chunks() {
      return chunks;
    },
    closed,
    flood,
    stop: () => {
      stopped = true;
    },
    close: () => {
      stopped = true;
      peer.destroy();
      socket.close();
    },
  };
}
