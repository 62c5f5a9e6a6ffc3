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
  // The peer's process is started before the watch, as a real viewer is ready before it asks: booting
  // it takes seconds on a loaded machine, longer than a server waits for an opened session to connect.
  const peer = spawnIpcPeer({
    mode: 'sink',
    initiator: true,
    skipBytes: MEDIA_HEADER_BYTES,
    sendOnConnect: [encodeControl({ t: 'play', offset: 0 })],
  });
  const state = {
    bytes: 0,
    connected: false,
    closed: null as { error?: string } | null,
    texts: [] as string[],
    hubCloses: [] as { sessionId: string; reason: string }[],
  };
  /** Signals the peer made before the hub named the session. */
  const early: unknown[] = [];
  let toServer: ((data: unknown) => void) | null = null;
  peer.on((m: ChildToParent) => {
    if (m.type === 'signal') {
      const data = opts.toServer ? opts.toServer(m.data) : m.data;
      if (data !== null) toServer ? toServer(data) : early.push(data);
    } else if (m.type === 'progress') state.bytes = m.bytes;
    else if (m.type === 'connect') state.connected = true;
    else if (m.type === 'text') state.texts.push(m.text);
    else if (m.type === 'closed') state.closed ??= m.error === undefined ? {} : { error: m.error };
  });
  let socket: Socket;
  let reply: Ack<WatchReply>;
  try {
    socket = await connect(hubUrl);
    reply = await socket.timeout(10_000).emitWithAck('watch', { assetId });
  } catch (err) {
    await peer.kill();
    throw err;
  }
  if (!reply.ok) {
    socket.close();
    await peer.kill();
    throw new Error(`watch refused: ${reply.code}: ${reply.message}`);
  }
  const sessionId = reply.sessionId;
  toServer = (data) => socket.emit('signal', { sessionId, data });
  for (const data of early.splice(0)) toServer(data);
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
