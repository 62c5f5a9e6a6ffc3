// The media server's WHEP side: answers the offers the hub relays for assets the director placed here, ends them on DELETE.
import { ErrorCode, ackError, parse, type Ack } from '../../signaling/protocol/index.js';
import { FrameErrorCode } from '../../signaling/protocol/frames.js';
import { whepEndSchema, whepOfferSchema } from '../../signaling/protocol/whep.js';
import { SdpError } from '../../signaling/protocol/whip-sdp.js';
import type { ByteSource } from '../contracts.js';
import type { SessionLog } from '../webrtc/peer.js';
import type { WhepFeedback, WhepSession } from './whep-session.js';

/** WHEP players one server feeds at once; more are refused (`no-capacity`, the hub tries another server). */
export const MAX_WHEP_SESSIONS = 256;

export interface WhepManagerOptions {
  /**
   * The asset's bytes as a data-channel viewer reads them (interval cache, or the live writer; `stored` says which);
   * undefined when not here.
   */
  openSource: (assetId: string) => { source: ByteSource; stored: boolean } | undefined;
  /** The session ended by itself (player gone, asset over): the hub forgets the resource. */
  emitToHub: (event: 'whep-closed', msg: unknown) => void;
  bindAddress?: string;
  /** libdatachannel ICE server URLs. */
  iceServerUrls?: string[];
  log?: SessionLog;
  /** Bytes sent to players (RTP, resent packets too): the server's egress, as a data-channel viewer's are. */
  sent?: (bytes: number) => void;
  /** Players' PLIs and NACKs, as each session answers them (the server's metrics). */
  feedback?: (f: WhepFeedback) => void;
  /** Sent RTP packets kept per track for NACKs; default NACK_HISTORY_PACKETS. */
  nackHistoryPackets?: number;
  /** Default MAX_WHEP_SESSIONS. */
  maxSessions?: number;
  /** The ids of an asset's VP8 renditions held here, tallest first: named to a player refused the asset's codec. */
  renditionsOf?: (assetId: string) => string[];
}

export class WhepManager {
  readonly #o: WhepManagerOptions;
  readonly #sessions = new Map<string, WhepSession>();
  /** The stored asset each session reads, by resource (none for a live one): what `endAsset` ends. */
  readonly #storedOf = new Map<string, string>();
  /** The asset each session plays, by resource: the server's viewer counts. */
  readonly #assetOf = new Map<string, string>();
  /** A session was opened since the last `takeOpened()`. */
  #opened = false;
  /** Offers past the capacity check, waiting for the WHEP stack to load: they hold a slot until they have a session or fail. */
  #reserved = 0;
  #closed = false;

  constructor(opts: WhepManagerOptions) {
    this.#o = opts;
  }

  /** Loads the WHEP stack ahead of the first offer (call once the server is up, off its startup path). */
  warm(): Promise<void> {
    return import('./whep-session.js').then(
      () => undefined,
      () => undefined,
    );
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** The asset each session plays (one entry per session). */
  watchedAssets(): Iterable<string> {
    return this.#assetOf.values();
  }

  /** A session was opened since the last call: its load is worth a heartbeat now. */
  takeOpened(): boolean {
    const o = this.#opened;
    this.#opened = false;
    return o;
  }

  /** Per session: frames and bytes sent, PLIs and NACKs received, packets resent. */
  stats(): ({ resourceId: string } & WhepSession['stats'])[] {
    return [...this.#sessions.values()].map((s) => ({ resourceId: s.resourceId, ...s.stats }));
  }

  offer(raw: unknown, ack: (r: Ack<{ sdp: string }>) => void): void {
    if (typeof ack !== 'function') return;
    const p = parse(whepOfferSchema, raw);
    if (!p.ok) return ack(ackError(ErrorCode.badRequest, `invalid whep-offer: ${p.message}`));
    const { resourceId, assetId, sdp } = p.value;
    if (this.#closed) return ack(ackError(ErrorCode.noCapacity, 'the server is shutting down'));
    if (this.#sessions.has(resourceId)) return ack(ackError(ErrorCode.conflict, 'this WHEP resource exists already'));
    const max = this.#o.maxSessions ?? MAX_WHEP_SESSIONS;
    if (this.#sessions.size + this.#reserved >= max)
      return ack(ackError(ErrorCode.noCapacity, `this server feeds ${max} WHEP players already`));
    // Reserved before the await: offers that arrive meanwhile are counted against the bound (they all passed it before).
    this.#reserved++;
    // Loaded at the first WHEP offer: mediabunny and the media stack cost servers that never see one nothing.
    void import('./whep-session.js')
      .then(
        ({ WhepSession }) => {
          // Again after the await: closed meanwhile, or the same resource offered twice at once.
          if (this.#closed) return ack(ackError(ErrorCode.noCapacity, 'the server is shutting down'));
          if (this.#sessions.has(resourceId)) return ack(ackError(ErrorCode.conflict, 'this WHEP resource exists already'));
          const opened = this.#o.openSource(assetId);
          if (!opened) return ack(ackError(ErrorCode.unknownAsset, `asset ${assetId} is not stored here`));
          const { source } = opened;
          let s: WhepSession;
          try {
            s = new WhepSession({
              resourceId,
              offer: sdp,
              source,
              bindAddress: this.#o.bindAddress,
              iceServers: this.#o.iceServerUrls,
              renditions: () => this.#o.renditionsOf?.(assetId) ?? [],
              ...(this.#o.sent ? { sent: this.#o.sent } : {}),
              ...(this.#o.feedback ? { feedback: this.#o.feedback } : {}),
              ...(this.#o.nackHistoryPackets ? { nackHistoryPackets: this.#o.nackHistoryPackets } : {}),
            });
          } catch (err) {
            source.close();
            return ack(ackError(err instanceof SdpError ? ErrorCode.badRequest : ErrorCode.internal, (err as Error).message));
          }
          this.#sessions.set(resourceId, s);
          this.#assetOf.set(resourceId, assetId);
          this.#opened = true;
          if (opened.stored) this.#storedOf.set(resourceId, assetId);
          s.once('closed', (reason) => {
            this.#sessions.delete(resourceId);
            this.#storedOf.delete(resourceId);
            this.#assetOf.delete(resourceId);
            this.#o.log?.info({ resource: resourceId, asset: assetId, reason, ...s.stats }, 'WHEP session ended');
            this.#o.emitToHub('whep-closed', { resourceId, reason: reason.slice(0, 64) });
          });
          s.answer().then(
            (answer) => ack({ ok: true, sdp: answer }),
            (err: Error) => {
              s.close('answer-failed');
              ack(ackError(err instanceof SdpError ? ErrorCode.badRequest : ErrorCode.internal, err.message));
            },
          );
        },
        (err: Error) => ack(ackError(ErrorCode.internal, `cannot load the WHEP stack: ${err.message}`)),
      )
      .finally(() => this.#reserved--);
  }

  end(raw: unknown, ack: (r: Ack) => void): void {
    if (typeof ack !== 'function') return;
    const p = parse(whepEndSchema, raw);
    const s = p.ok ? this.#sessions.get(p.value.resourceId) : undefined;
    if (!s) return ack(ackError(ErrorCode.badRequest, 'no such WHEP session here'));
    s.close('deleted');
    ack({ ok: true });
  }

  /**
   * Ends every session reading the stored file of `assetId` (reason `asset-changed`): it changed or went away, and
   * the rest of it would be another file's bytes. Returns how many ended.
   */
  endAsset(assetId: string): number {
    let ended = 0;
    for (const [resourceId, id] of [...this.#storedOf]) {
      if (id !== assetId) continue;
      ended++;
      this.#sessions.get(resourceId)?.close(FrameErrorCode.assetChanged);
    }
    return ended;
  }

  close(): void {
    this.#closed = true;
    for (const s of [...this.#sessions.values()]) s.close('server-closing');
  }
}
