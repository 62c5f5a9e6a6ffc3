// A viewer that speaks the delivery channel's frames itself: it asks for `fast` and restarts on every `end`,
// the pattern that pulled 113× an asset's bitrate from a server that let viewers choose pacing.
import type { Socket } from 'socket.io-client';
import { createPeer, type Peer } from '../../../node-app/webrtc/peer.js';
import { decodeServerFrame, encodeControl } from '../../../signaling/protocol/frames.js';
import type { Ack, WatchReply } from '../../../signaling/protocol/index.js';
import { connect } from './net.js';

export interface LoopViewer {
  server: string;
  /** Media payload bytes received. */
  readonly bytes: number;
  /** `end` frames seen (each answered by a new play from 0). */
  readonly ends: number;
  /** Codes of the server's error frames. */
  readonly errors: string[];
  readonly connected: Promise<void>;
  /** Sends `t: 'play'` from `offset` (fast) now. */
  play(offset: number): void;
  close(): void;
}

export async function openLoopViewer(hubUrl: string, assetId: string, opts: { restartOnEnd: boolean }): Promise<LoopViewer> {
  const socket: Socket = await connect(hubUrl);
  const reply: Ack<WatchReply> = await socket.timeout(10_000).emitWithAck('watch', { assetId });
  if (!reply.ok) {
    socket.close();
    throw new Error(`watch refused: ${reply.code}: ${reply.message}`);
  }
  const peer: Peer = createPeer({ initiator: true });
  peer.on('signal', (data) => socket.emit('signal', { sessionId: reply.sessionId, data }));
  socket.on('signal', (m: { sessionId: string; data: unknown }) => {
    if (m.sessionId === reply.sessionId) peer.signal(m.data as never);
  });
  peer.on('error', () => undefined);
  const state = { bytes: 0, ends: 0, errors: [] as string[] };
  const play = (offset: number) => {
    try {
      peer.send(encodeControl({ t: 'play', offset, fast: true }));
    } catch {
      // closed
    }
  };
  peer.on('data', (d: unknown) => {
    const r = decodeServerFrame(d);
    if (!r.ok) return;
    const f = r.frame;
    if (f.kind === 'media') {
      state.bytes += f.payload.byteLength;
      return;
    }
    if (f.msg.t === 'end') {
      state.ends++;
      if (opts.restartOnEnd) play(0);
    } else if (f.msg.t === 'error') state.errors.push(f.msg.code);
  });
  const connected = new Promise<void>((resolve) =>
    peer.once('connect', () => {
      play(0);
      resolve();
    }),
  );
  return {
    server: reply.server.id,
    get bytes() {
      return state.bytes;
    },
    get ends() {
      return state.ends;
    },
    errors: state.errors,
    connected,
    play,
    close: () => {
      peer.destroy();
      socket.close();
    },
  };
}
