// The media half of a viewer's session: sends the asset from the next byte on, paced (the asset's pacing, the viewer's
// own limit) and one write at a time through the send gate, while the session streams; serve-session.ts is the rest.
import { MAX_MEDIA_PAYLOAD_BYTES } from '../../signaling/protocol/frames.js';
import type { ByteSource } from '../contracts.js';
import type { Peer } from '../webrtc/peer.js';
import { BehindEdgePacing } from './behind-edge.js';
import { FrameReader } from './frame-reader.js';
import { LinkLimit } from './link-limit.js';
import type { Pacer } from './pacer.js';
import type { SendGate } from './send-gate.js';
import { LIVE_POLL_MS, type ServeState } from './serve-options.js';

/** What the pump reads of its session and tells it. */
export interface PumpHost {
  /** The session's state: the pump sends while it is `streaming`, and stops at `closed` even after a write. */
  state(): ServeState;
  /** The viewer's peer, whose data channel the frames go on. */
  peer(): Peer;
  /** The source grew, or a frame left: the session is alive. */
  active(): void;
  /** The whole (stored) asset was sent: `size` bytes. */
  ended(size: number): void;
  /** A frame of `bytes` went out. */
  sent(bytes: number): void;
  /** Reading or sending failed. */
  failed(err: Error): void;
}

export class MediaPump {
  readonly #source: ByteSource;
  readonly #gate: SendGate;
  readonly #now: () => number;
  readonly #host: PumpHost;
  readonly #reader: FrameReader;
  readonly #limit = new LinkLimit();
  #pacer: Pacer | null = null;
  /** A live stream's session (no pacer: the edge paces it) is paced while it reads far behind the edge. */
  #behind: BehindEdgePacing | null = null;
  /** The viewer asked for its bytes unpaced (when the server allows it); its own limit still holds. */
  fast = false;
  /** Next byte to send. */
  #next: number;
  /** Bumped by every seek and by close: in-flight reads of an older generation are dropped. */
  #generation = 0;
  #pumping = false;
  #lastSize = 0;

  constructor(source: ByteSource, offset: number, gate: SendGate, now: () => number, host: PumpHost) {
    this.#source = source;
    this.#gate = gate;
    this.#now = now;
    this.#host = host;
    this.#next = offset;
    this.#reader = new FrameReader(source, offset);
  }

  /** Next byte to send. */
  get offset(): number {
    return this.#next;
  }

  /** The pace, bits per second, when the asset is paced (and the viewer did not ask for fast). */
  get paceBps(): number | undefined {
    return this.#pacer && !this.fast ? this.#pacer.config.bitrateBps * this.#pacer.config.factor : undefined;
  }

  /**
   * Paces by `pacer` (once the asset is described; null: unpaced). A `live` source without one is paced while it
   * reads far behind its edge (BehindEdgePacing).
   */
  paceBy(pacer: Pacer | null, live = false): void {
    this.#pacer = pacer;
    this.#behind = !pacer && live ? new BehindEdgePacing(this.#source, this.#now) : null;
  }

  /** The viewer's own limit on its delivery rate, bits per second (null: none). */
  limit(bps: number | null): void {
    this.#limit.set(bps, this.#now());
  }

  /** A fresh fast-start burst (the session starts streaming). */
  burst(): void {
    this.#pacer?.restart();
  }

  pause(): void {
    this.#pacer?.pause();
    this.#behind?.pause();
  }

  resume(): void {
    this.#pacer?.resume();
    this.#behind?.resume();
  }

  /**
   * Sends from `offset` on, dropping reads in flight. With `burst` a fresh burst; otherwise the session's pacing
   * budget carries over, but what shows the new position goes at once (Pacer.seek).
   */
  seek(offset: number, burst: boolean): void {
    this.#generation++;
    this.#next = offset;
    this.#reader.seek(offset);
    if (burst) this.#pacer?.restart();
    else this.#pacer?.seek();
    this.#behind?.seek(burst);
  }

  /** The session closed: reads in flight are dropped. */
  close(): void {
    this.#generation++;
  }

  /** Sends while the session streams (once: a second call while it runs returns at once). */
  async run(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    const host = this.#host;
    try {
      while (host.state() === 'streaming') {
        const gen = this.#generation;
        const size = this.#source.size();
        if (size !== this.#lastSize) {
          this.#lastSize = size;
          host.active();
        }
        if (this.#next >= size) {
          if (this.#source.isLive()) {
            // Woken by the write that brings the next chunk; the poll is the fallback.
            await this.#gate.sleep(LIVE_POLL_MS, this.#source.grown?.(LIVE_POLL_MS));
            continue;
          }
          host.ended(size);
          break;
        }
        const want = Math.min(MAX_MEDIA_PAYLOAD_BYTES, size - this.#next);
        const paced = this.fast ? 0 : this.#pacer ? this.#pacer.delayMs(want) : (this.#behind?.delayMs(this.#next, size, want) ?? 0);
        const delay = Math.max(paced, this.#limit.delayMs(this.#now()));
        if (delay > 0) {
          await this.#gate.sleep(delay);
          continue;
        }
        const out = await this.#reader.next(size);
        if (gen !== this.#generation) continue;
        if (!out) {
          // The source shrank under us (a replaced file): wait rather than spin.
          await this.#gate.sleep(LIVE_POLL_MS);
          continue;
        }
        this.#next = this.#reader.offset;
        await this.#gate.write(host.peer(), out.frame, () => host.active());
        // The session may have closed while the write was pending.
        if (host.state() === 'closed') break;
        if (gen === this.#generation) {
          this.#pacer?.record(out.bytes);
          this.#behind?.record(out.bytes);
        }
        this.#limit.record(this.#now(), out.bytes);
        host.sent(out.bytes);
      }
    } catch (err) {
      host.failed(err as Error);
    } finally {
      this.#pumping = false;
    }
  }
}
