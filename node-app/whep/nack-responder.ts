// Answers a WHEP player's generic NACKs (RFC 4585 §6.2.1) from the RTP packets a track sent last, within a resend budget.
import { TokenBucket } from '../../common/token-bucket.js';

/** Sent RTP packets kept per track to answer NACKs. */
export const NACK_HISTORY_PACKETS = 512;
/** Packets one RTCP packet (compound or not) can make a track resend; the rest of its NACKs are refused. */
export const MAX_RESENDS_PER_RTCP = 64;
/** Resent bytes a session may spend a second (a 1-second bucket shared by its tracks), B/s: 1 Mbit/s. */
export const NACK_RESEND_BYTES_PER_S = 128 * 1024;
/**
 * Sequence numbers one RTCP packet's NACKs are read for, per track (a track holds no more: NACK_HISTORY_PACKETS), and
 * a session's NACKs a second, both tracks (a 1-second bucket). Past either the entries are not read, only counted
 * (`refused`): before, every one was, and one 1,500-byte NACK of 6,300 took 1.7 ms of the server's thread.
 */
export const MAX_NACKED_PER_RTCP = 512;
export const NACK_LOOKUPS_PER_S = 4_096;
/**
 * An RTCP packet equal to the one just before it on the track, within this, is the same one again, ms: libdatachannel
 * hands a track a feedback packet once for each SSRC it names that maps to the track (a player's own SSRC and ours), so
 * each came twice, one right after the other. Wide enough for a busy event loop between the two callbacks; a player
 * that really sends the same NACK twice that fast gets one answer (its next one is answered).
 */
export const DUPLICATE_RTCP_MS = 50;

/** Tells an RTCP packet a track was handed again (see DUPLICATE_RTCP_MS) from a new one. */
export class RtcpRepeats {
  #last: { rtcp: Buffer; at: number } | undefined;

  /** True when `rtcp` equals the previous packet, handed within DUPLICATE_RTCP_MS of it (`now`, ms). */
  again(rtcp: Uint8Array, now: number): boolean {
    const buf = Buffer.from(rtcp.buffer, rtcp.byteOffset, rtcp.byteLength);
    const repeat = this.#last !== undefined && now - this.#last.at <= DUPLICATE_RTCP_MS && this.#last.rtcp.equals(buf);
    if (!repeat) this.#last = { rtcp: Buffer.from(buf), at: now };
    return repeat;
  }
}

/**
 * A session's allowance, a token bucket refilled at `bytesPerS`, holding one second's worth: the bytes it may resend,
 * and the sequence numbers its NACKs may have looked up.
 */
export class ResendBudget {
  readonly #bucket: TokenBucket;
  readonly #now: () => number;

  /** `now`: monotonic clock, ms. */
  constructor(bytesPerS: number, now: () => number) {
    this.#now = now;
    this.#bucket = new TokenBucket(now(), bytesPerS, bytesPerS);
  }

  /** Spends `bytes` if the bucket holds them. */
  take(bytes: number): boolean {
    return this.#bucket.take(this.#now(), bytes);
  }

  /** What the bucket holds now. */
  available(): number {
    return this.#bucket.available(this.#now());
  }
}

/** What one RTCP packet asked of a track, by outcome. */
export interface NackOutcome {
  /** Generic NACK messages for this track's SSRC. */
  nacks: number;
  /** Packets sent again. */
  resent: number;
  /** Asked for, but not among the last `historyPackets` sent (or never sent). */
  unavailable: number;
  /**
   * Asked for and held, but over MAX_RESENDS_PER_RTCP or the session's budget; or not read, past MAX_NACKED_PER_RTCP or
   * the session's NACK_LOOKUPS_PER_S (each entry counted, held or not).
   */
  refused: number;
}

export interface NackResponderOptions {
  ssrc: number;
  budget: ResendBudget;
  /** The session's sequence numbers to look up (NACK_LOOKUPS_PER_S); without, only MAX_NACKED_PER_RTCP holds. */
  lookups?: ResendBudget;
  /** Sends one RTP packet again, as it went the first time. */
  resend: (packet: Buffer) => void;
  /** Default NACK_HISTORY_PACKETS. */
  historyPackets?: number;
}

/** One outgoing track's history of sent RTP packets (a ring by sequence number) and the NACKs answered from it. */
export class NackResponder {
  readonly #o: NackResponderOptions;
  readonly #ring: (Buffer | undefined)[];

  constructor(opts: NackResponderOptions) {
    this.#o = opts;
    this.#ring = new Array(opts.historyPackets ?? NACK_HISTORY_PACKETS);
  }

  /** Keeps a packet this track sent (the ring overwrites the oldest). */
  sent(packet: Buffer): void {
    this.#ring[packet.readUInt16BE(2) % this.#ring.length] = packet;
  }

  /** Answers the generic NACKs for this track in an RTCP packet from the player; undefined when it holds none. */
  received(rtcp: Uint8Array): NackOutcome | undefined {
    const lookups = this.#o.lookups;
    const limit = Math.min(MAX_NACKED_PER_RTCP, lookups ? Math.floor(lookups.available()) : Number.POSITIVE_INFINITY);
    const asked = nackedSequenceNumbers(Buffer.from(rtcp.buffer, rtcp.byteOffset, rtcp.byteLength), this.#o.ssrc, limit);
    if (!asked) return undefined;
    lookups?.take(asked.seqs.length);
    const out: NackOutcome = { nacks: asked.nacks, resent: 0, unavailable: 0, refused: asked.unread };
    for (const seq of asked.seqs) {
      const packet = this.#ring[seq % this.#ring.length];
      if (!packet || packet.readUInt16BE(2) !== seq) out.unavailable++;
      else if (out.resent >= MAX_RESENDS_PER_RTCP || !this.#o.budget.take(packet.byteLength)) out.refused++;
      else {
        this.#o.resend(packet);
        out.resent++;
      }
    }
    return out;
  }
}

/**
 * The sequence numbers the generic NACKs (PT 205, FMT 1) for `mediaSsrc` in a (compound) RTCP packet ask for, each
 * FCI entry a PID and a bitmask of the 16 after it, in order and once each, the first `limit` of them; `unread`: the
 * entries past those (counted, repeats and all, not read). Undefined when it holds no such NACK.
 */
export function nackedSequenceNumbers(
  rtcp: Buffer,
  mediaSsrc: number,
  limit = Number.POSITIVE_INFINITY,
): { nacks: number; seqs: number[]; unread: number } | undefined {
  const seqs = new Set<number>();
  let nacks = 0;
  let unread = 0;
  for (let at = 0; at + 4 <= rtcp.byteLength; ) {
    if (rtcp[at]! >> 6 !== 2) break;
    const end = at + (rtcp.readUInt16BE(at + 2) + 1) * 4;
    if (end > rtcp.byteLength) break;
    if (rtcp[at + 1] === 205 && (rtcp[at]! & 0x1f) === 1 && end >= at + 12 && rtcp.readUInt32BE(at + 8) === mediaSsrc) {
      nacks++;
      for (let fci = at + 12; fci + 4 <= end; fci += 4) {
        const pid = rtcp.readUInt16BE(fci);
        const blp = rtcp.readUInt16BE(fci + 2);
        if (seqs.size >= limit) {
          unread += 1 + bitCount(blp);
          continue;
        }
        seqs.add(pid);
        for (let bit = 0; bit < 16; bit++) {
          if (!(blp & (1 << bit))) continue;
          if (seqs.size < limit) seqs.add((pid + bit + 1) & 0xffff);
          else unread++;
        }
      }
    }
    at = end;
  }
  return nacks ? { nacks, seqs: [...seqs], unread } : undefined;
}

function bitCount(v: number): number {
  let n = 0;
  for (let b = v; b; b &= b - 1) n++;
  return n;
}
