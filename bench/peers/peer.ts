// The seam every peer of the benchmark implements: start, a page that plays it in Chromium, a
// headless Node viewer for load, the server pids to meter, stop. A new peer (e.g. `baton_whep`) is
// one more implementation and one more entry in PEER_FACTORIES (bench/peers/peers.ts).
import type { Browser } from 'playwright-core';
import type { LateCount } from './late.js';

/** What a viewer page or Node viewer needs to play. */
export type Feed = 'file' | 'clock';

export interface PeerStartOptions {
  /** `file`: the demo asset in a loop (TTFF, load); `clock`: live frames with a wall clock drawn in (glass to glass). */
  feed: Feed;
  /** Where the peer's own files go (configs, HLS segments); removed by the caller. */
  tmpDir: string;
  /** Ports the peer may bind, from the bench's own range. */
  ports: PortRange;
  /** Origin of the viewer pages (pages.ts). */
  pagesBase: string;
  /** The bench's Chromium, for peers whose live source is a browser (Baton's broadcaster page). */
  browser?: Browser;
}

export interface PortRange {
  next(): number;
}

/** A headless viewer, for load: started, counted, closed. */
export interface NodeViewer {
  /** Media bytes received so far. */
  bytes(): number;
  /** Video frames received so far, and how many of them late (late.ts). */
  late(): LateCount;
  close(): Promise<void>;
}

export interface RunningPeer {
  readonly name: PeerName;
  /** The URL a fresh Chromium context opens to play it (the page starts playing at navigation). */
  viewerUrl(): string;
  /** Processes whose CPU time and memory count as the server's (the feed's encoder is not one). */
  serverPids(): number[];
  /** A viewer that costs the server what a browser viewer costs it, without a browser. */
  startNodeViewer(): Promise<NodeViewer>;
  /**
   * Rejects when the peer's live feed is no longer live (Baton's canvas broadcast ended): a viewer sample
   * taken then would time a finished recording played from its start, not the live path.
   */
  feedLive?(): Promise<void>;
  /**
   * Brings the peer to the state a load step is measured against, before its idle window: its live feed
   * running (Baton publishes its loop only when asked; the other peers' feeds run from their start) and
   * nothing left of the viewers of earlier steps and phases. Without it the idle window can hold work the
   * load window does not (or the reverse), and the difference is charged to, or taken from, the viewers.
   */
  settleForLoad?(): Promise<void>;
  stop(): Promise<void>;
}

export interface PeerFactory {
  readonly name: PeerName;
  /** Why it cannot run here (a missing package, not root), or null. */
  unavailable(): string | null;
  /** The feeds it supports (the HTTP baseline has no live feed). */
  readonly feeds: readonly Feed[];
  start(o: PeerStartOptions): Promise<RunningPeer>;
}

export const PEER_NAMES = ['baton', 'baton_whep', 'baton_low_latency', 'baton_whip', 'janus', 'hls', 'http'] as const;

/** The bench's Chromium finds WebRTC peers on loopback with their real addresses (Baton's servers, WHEP), not mDNS names. */
export const BROWSER_ARGS: readonly string[] = ['--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns'];
export type PeerName = (typeof PEER_NAMES)[number];
