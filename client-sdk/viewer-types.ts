// What a Viewer is given (hub socket, simple-peer, options) and what it fires: the types of client-sdk/viewer.ts.
import type { MetaFrame, ServerStatsFrame } from '../signaling/protocol/frames.js';
import type { WatchReply, WatchRequest } from '../signaling/protocol/messages.js';
import type { Ack } from '../signaling/protocol/types.js';

/** The part of a socket.io-client Socket (on the hub's `/client` namespace) a Viewer uses. */
export interface ViewerSocket {
  emit(event: 'watch', req: WatchRequest, ack: (r: Ack<WatchReply>) => void): unknown;
  emit(event: 'signal', msg: { sessionId: string; data: unknown }): unknown;
  emit(event: 'leave', msg: { sessionId: string }): unknown;
  on(event: 'signal', listener: (msg: any) => void): unknown;
  on(event: 'session-close', listener: (msg: any) => void): unknown;
  on(event: 'connect', listener: () => void): unknown;
  off(event: 'signal', listener: (msg: any) => void): unknown;
  off(event: 'session-close', listener: (msg: any) => void): unknown;
  off(event: 'connect', listener: () => void): unknown;
  /** False while the socket is still connecting (a watch emitted then waits in socket.io's buffer). */
  readonly connected?: boolean;
}

/** The part of a simple-peer instance a Viewer uses. */
export interface ViewerPeer {
  on(event: 'signal' | 'data', listener: (data: any) => void): unknown;
  on(event: 'connect' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  signal(data: any): void;
  send(data: string): void;
  destroy(): void;
}

export type ViewerPeerConstructor = new (opts: {
  initiator: boolean;
  wrtc?: any;
  config?: { iceServers?: RTCIceServer[] };
  objectMode?: boolean;
  trickle?: boolean;
}) => ViewerPeer;

export interface ViewerOptions {
  /** A connected socket.io-client Socket on the hub's `/client` namespace. */
  socket: ViewerSocket;
  assetId: string;
  /** The simple-peer constructor (the package in Node, `simple-peer/simplepeer.min.js` in browsers). */
  SimplePeer: ViewerPeerConstructor;
  /** WebRTC implementation for Node (node-datachannel's polyfill); browsers use their own. */
  wrtc?: unknown;
  /** Byte offset to start at. Default 0. */
  offset?: number;
  /**
   * Media time to start at, ms (a stored asset: from its keyframe Cluster at or before it; wins over
   * `offset`). The first `seeked` event says where the stream starts.
   */
  startTimeMs?: number;
  iceServers?: RTCIceServer[];
  /** Ask servers not to pace (downloads, benchmarks). Default false. */
  fast?: boolean;
  /** Ask servers to send no faster than this on average (bits per second; `limit()` changes it). Default: no limit. */
  limitBps?: number;
  /**
   * Servers the first request asks the hub to pass over (its `exclude`), e.g. to watch from one
   * server of a pair; failovers exclude only servers that failed this viewer.
   */
  avoid?: string[];
  /**
   * The first watch, asked already (client-sdk/watch-ahead.ts) with its own peer's offer: the first selection takes
   * its reply, its peer (signalled for the session already) and the hub's messages held for it instead of asking.
   * Used only when it asks what the Viewer would (same asset, from the start, no `avoid`); else it is dropped.
   */
  ahead?: WatchAheadHandle;
}

/**
 * A peer made before its Viewer (a page's first peer): it makes its offer at once, and holds the events it fires
 * before anyone listens to them (signals, connect, data, close), handing them to the first listener of each.
 */
export interface AheadPeer extends ViewerPeer {
  /** Its offer once made (also its first `signal`); null when it failed first. */
  offered(): Promise<{ type: 'offer'; sdp: string } | null>;
  /**
   * True once the page sent the server `play` on it itself (a page that starts playing before its Viewer exists,
   * web-client/components/early-playback.ts): the Viewer that takes it over sends no other first `play`.
   */
  readonly played?: boolean;
}

/** A watch asked before its Viewer existed (client-sdk/watch-ahead.ts), from the asset's start. */
export interface WatchAheadHandle {
  readonly assetId: string;
  /** The delivery limit the watch asked for (bits per second), if any. */
  readonly limitBps?: number;
  /** The peer whose offer went with the watch, signalled for its session: the Viewer that takes the watch takes it. */
  readonly peer: AheadPeer;
  /** What was sent (with the offer when it came in time); null when it was dropped before. */
  readonly request: Promise<WatchRequest | null>;
  /** The hub's reply (null when nothing was sent); the answer it carried was given to `peer` already, and is left out. */
  readonly reply: Promise<Ack<WatchReply> | null>;
  /** A Viewer takes over: the hub's messages it did not give the peer (session closes; signals before a refusal), in order. */
  take(): Array<{ event: 'signal' | 'session-close'; msg: unknown }>;
  /** Not wanted: no more retries, the peer is closed, and the session (once known) is left. */
  drop(): void;
}

export type MetaInfo = Omit<MetaFrame, 't'>;
export interface DataInfo {
  offset: number;
  /** In-order bytes; never overlaps earlier data. */
  bytes: Uint8Array;
}
export interface ViewerStats {
  /** Receive rate over the last interval, bits per second. */
  bitrateBps: number;
  /** Bytes delivered in order since start (from the start offset). */
  bytes: number;
  /** The server's last stats frame, if any. */
  server?: Omit<ServerStatsFrame, 't'>;
}
export interface SeekedInfo {
  /** The time asked for (ms). */
  seekMs: number;
  /** Media time of the keyframe Cluster the stream now starts at (ms). */
  timeMs: number;
  /** Its byte offset. */
  offset: number;
}
export interface FailoverInfo {
  from: string;
  to: string;
  offset: number;
}

/**
 * @fires selected - CustomEvent<WatchReply>: the hub chose a server (again after a failover).
 * @fires meta - CustomEvent<MetaInfo>: once per server session.
 * @fires data - CustomEvent<DataInfo>: bytes in order, no duplicates, no gaps.
 * @fires stats - CustomEvent<ViewerStats>: every STATS_INTERVAL_MS while streaming.
 * @fires failover - CustomEvent<FailoverInfo>: resumed on another server at `offset`.
 * @fires seeked - CustomEvent<SeekedInfo>: after `seekTime()` (or `startTimeMs`): `data` continues from there.
 * @fires end - CustomEvent<{ bytes }>: every byte received (for a live stream: it ended).
 * @fires warning - CustomEvent<{ code, message }>: something odd that was repaired (not fatal).
 * @fires error - CustomEvent<{ code, message }>: fatal; the viewer closes right after.
 * @fires leave - CustomEvent<{ sessionId }>: close() released the session.
 */
export interface ViewerEventMap {
  selected: CustomEvent<WatchReply>;
  meta: CustomEvent<MetaInfo>;
  data: CustomEvent<DataInfo>;
  stats: CustomEvent<ViewerStats>;
  failover: CustomEvent<FailoverInfo>;
  seeked: CustomEvent<SeekedInfo>;
  end: CustomEvent<{ bytes: number }>;
  warning: CustomEvent<{ code: string; message: string }>;
  error: CustomEvent<{ code: string; message: string }>;
  leave: CustomEvent<{ sessionId: string }>;
}
