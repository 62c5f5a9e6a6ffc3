// The socket.io event maps of the three namespaces (/server, /client, /dashboard): who may send what to whom.
import type { Ack, TableSnapshot, VersionedDelta, Place } from './types.js';
import type {
  CatalogEntry,
  DecisionEvent,
  IngestDecision,
  PublishReply,
  SelectDecision,
  SelectIngestRequest,
  SelectRequest,
  SessionOpen,
  SessionOpenAccepted,
  SignalMessage,
  WatchReply,
} from './messages.js';
import type { WhipHubToServerEvents, WhipServerToHubEvents } from './whip.js';
import type { WhepHubToServerEvents, WhepServerToHubEvents } from './whep.js';

/** Media server → hub, on the `/server` namespace. */
export interface ServerToHubEvents extends WhipServerToHubEvents, WhepServerToHubEvents {
  register: (descriptor: unknown, ack: (r: Ack<{ snapshot: TableSnapshot }>) => void) => void;
  heartbeat: (msg: unknown) => void;
  report: (deltas: unknown, ack: (r: Ack) => void) => void;
  resync: (ack: (r: Ack<{ snapshot: TableSnapshot }>) => void) => void;
  /** Several hubs: `{ id, instance? }` on a hub the server is not registered with, so it is asked there directly. */
  attach: (msg: unknown, ack: (r: Ack) => void) => void;
  /**
   * Several hubs: the server leaves this hub to register with another (it goes back to the first of its list after a
   * failover). The hub lets go of it without taking it out of the table; if it beats through no hub, the cluster's
   * liveness sweep does. A lone hub refuses it.
   */
  moving: (ack: (r: Ack) => void) => void;
  signal: (msg: unknown) => void;
  'session-close': (msg: unknown) => void;
  /** The session's WebRTC connection is up: it no longer counts as unconnected at the hub. */
  'session-connected': (msg: unknown) => void;
}

/** Hub → media server. */
export interface HubToServerEvents extends WhipHubToServerEvents, WhepHubToServerEvents {
  deltas: (batch: VersionedDelta[]) => void;
  select: (req: SelectRequest, ack: (r: Ack<SelectDecision>) => void) => void;
  'select-ingest': (req: SelectIngestRequest, ack: (r: Ack<IngestDecision>) => void) => void;
  'session-open': (msg: SessionOpen, ack: (r: Ack<SessionOpenAccepted>) => void) => void;
  signal: (msg: SignalMessage) => void;
  'session-close': (msg: { sessionId: string; reason: string }) => void;
  shutdown: (msg: { reason: string }) => void;
  /** Several hubs: the other hubs' URLs (at registration, and when the list changes): the server attaches to each. */
  hubs: (urls: string[]) => void;
}

/** Browser / CLI client → hub, on the `/client` namespace. */
export interface ClientToHubEvents {
  /** The first page of the catalog (≤ 1,000 assets; `next` is the cursor for /api/catalog). */
  catalog: (ack: (r: Ack<{ assets: CatalogEntry[]; next: string | null; total: number }>) => void) => void;
  /** `{ q?, cursor?, limit? }` → a page of the entries matching `q` across the whole catalog; `{ id }` → that entry, description whole. */
  'catalog-query': (req: unknown, ack: (r: Ack<{ assets: CatalogEntry[]; next: string | null; total: number }>) => void) => void;
  watch: (req: unknown, ack: (r: Ack<WatchReply>) => void) => void;
  publish: (req: unknown, ack: (r: Ack<PublishReply>) => void) => void;
  places: (req: unknown, ack: (r: Ack<{ places: Place[] }>) => void) => void;
  /** `{ assetIds }` → how many are watching each (same order), cluster-wide. */
  viewers: (req: unknown, ack: (r: Ack<{ counts: number[] }>) => void) => void;
  signal: (msg: unknown) => void;
  leave: (msg: unknown) => void;
}

/** Hub → client. */
export interface HubToClientEvents {
  signal: (msg: SignalMessage) => void;
  'session-close': (msg: { sessionId: string; reason: string }) => void;
  error: (msg: { code: string; message: string }) => void;
}

/** Hub → dashboard (read-only), on the `/dashboard` namespace. */
export interface HubToDashboardEvents {
  snapshot: (s: TableSnapshot) => void;
  deltas: (batch: VersionedDelta[]) => void;
  decision: (d: DecisionEvent) => void;
}

/** One hub of the cluster as the dashboard lists it (`GET /api/hubs` answers the same). */
export interface DashboardHubEntry {
  id: string;
  url: string;
  clients: number;
  servers: number;
  /** Servers registered with another hub that keep a connection to this one too: this hub reaches them directly. */
  attached: number;
  leaseHolder: boolean;
  lastSeenMs: number;
}

/**
 * Dashboard → hub: read-only, it may ask for the whole table again, and for the cluster's hubs (on the socket, so
 * that a dashboard whose page's own hub died asks the hub it moved to, which a same-origin `/api/hubs` could not).
 */
export interface DashboardToHubEvents {
  resync: (ack: (r: Ack<{ snapshot: TableSnapshot }>) => void) => void;
  hubs: (ack: (r: Ack<{ hubs: DashboardHubEntry[] }>) => void) => void;
}
