// A viewer split in two: its hub connection here, its WebRTC peer in a child process
// (node-app/webrtc/ipc-peer), so a test can freeze the peer's network side with SIGSTOP
// while the signaling side keeps listening.
import type { Socket } from 'socket.io-client';
import { spawnIpcPeer, type ChildToParent, type IpcPeer } from '../../../node-app/webrtc/ipc-peer.js';
import { encodeControl, MEDIA_HEADER_BYTES } from '../../../signaling/protocol/frames.js';
import type { Ack, WatchReply } from '../../../signaling/protocol/index.js';
import { connect } from './net.js';

export interface RawViewer {
  sessionId: string;
  server: string;
  peer: IpcPeer;
  socket: Socket;
  /** Media payload bytes received so far (as last reported by the child). */
  readonly bytes: number;
  /** Text frames the server sent (meta, error, end). */
  readonly texts: string[];
  /** `session-close` messages the hub sent for this session. */
  readonly hubCloses: { sessionId: string; reason: string }[];
  readonly connected: boolean;
  /** The peer gave up (error or close), with its reason if any. */
  readonly closed: { error?: string } | null;
  close(): Promise<void>;
}

export interface RawViewerOptions {
  /** Changes (or drops, with null) each signal on its way to the server / to the viewer. */
  toServer?: (data: unknown) => unknown | null;
  toViewer?: (data: unknown) => unknown | null;
}

/** Watches `assetId` from offset 0 through the hub; the peer plays as soon as it connects. */
export async function openRawViewer(hubUrl: string, assetId: string, opts: RawViewerOptions = {}): Promise<RawViewer> {
  const socket = await connect(hubUrl);
  const reply: Ack<WatchReply> = await socket.timeout(10_000).emitWithAck('watch', { assetId });
  if (!reply.ok) {
    socket.close();
    throw new Error(`watch refused: ${reply.code}: ${reply.message}`);
  }
  const peer = spawnIpcPeer({ mode: 'sink', initiator: true, skipBytes: MEDIA_HEADER_BYTES, sendOnConnect: [encodeControl({ t: 'play', offset: 0 })] });
  const state = { bytes: 0, connected: false, closed: null as { error?: string } | null, texts: [] as string[], hubCloses: [] as { sessionId: string; reason: string }[] };
  peer.on((m: ChildToParent) => {
    if (m.type === 'signal') {
      const data = opts.toServer ? opts.toServer(m.data) : m.data;
      if (data !== null) socket.emit('signal', { sessionId: reply.sessionId, data });
    }
    else if (m.type === 'progress') state.bytes = m.bytes;
    else if (m.type === 'connect') state.connected = true;
    else if (m.type === 'text') state.texts.push(m.text);
    else if (m.type === 'closed') state.closed ??= m.error === undefined ? {} : { error: m.error };
  });
  socket.on('signal', (m: { sessionId: string; data: unknown }) => {
    if (m.sessionId !== reply.sessionId) return;
    const data = opts.toViewer ? opts.toViewer(m.data) : m.data;
    if (data !== null) peer.signal(data);
  });
  socket.on('session-close', (m: { sessionId: string; reason: string }) => {
    if (m.sessionId === reply.sessionId) state.hubCloses.push(m);
  });
  return {
    sessionId: reply.sessionId,
    server: reply.server.id,
    peer,
    socket,
    get bytes() {
      return state.bytes;
    },
    get texts() {
      return state.texts;
    },
    get hubCloses() {
      return state.hubCloses;
    },
    get connected() {
      return state.connected;
    },
    get closed() {
      return state.closed;
    },
    close: async () => {
      socket.close();
      await peer.kill();
    },
  };
}
