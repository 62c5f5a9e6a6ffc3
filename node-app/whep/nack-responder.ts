// Answers a WHEP player's generic NACKs (RFC 4585 §6.2.1) from the RTP packets a track sent last, within a resend budget.

/** Sent RTP packets kept per track to answer NACKs. */
export const NACK_HISTORY_PACKETS = 512;
/** Packets one RTCP packet (compound or not) can make a track resend; the rest of its NACKs are refused. */
export const MAX_RESENDS_PER_RTCP = 64;
/** Resent bytes a session may spend a second (a 1-second bucket shared by its tracks), B/s: 1 Mbit/s. */
export const NACK_RESEND_BYTES_PER_S = 128 * 1024;
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

/** A session's resend allowance: a token bucket of bytes, refilled at `bytesPerS`, holding one second's worth. */
export class ResendBudget {
  readonly #bytesPerS: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  /** `now`: monotonic clock, ms. */
  constructor(bytesPerS: number, now: () => number) {
    this.#bytesPerS = bytesPerS;
    this.#now = now;
    this.#tokens = bytesPerS;
    this.#at = now();
  }

  /** Spends `bytes` if the bucket holds them. */
  take(bytes: number): boolean {
    const now = this.#now();
    this.#tokens = Math.min(this.#bytesPerS, this.#tokens + ((now - this.#at) * this.#bytesPerS) / 1000);
    this.#at = now;
    if (this.#tokens < bytes) return false;
    this.#tokens -= bytes;
    return true;
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
  /** Asked for and held, but over MAX_RESENDS_PER_RTCP or the session's budget. */
  refused: number;
}

export interface NackResponderOptions {
  ssrc: number;
  budget: ResendBudget;
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
    const asked = nackedSequenceNumbers(Buffer.from(rtcp.buffer, rtcp.byteOffset, rtcp.byteLength), this.#o.ssrc);
    if (!asked) return undefined;
    const out: NackOutcome = { nacks: asked.nacks, resent: 0, unavailable: 0, refused: 0 };
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
 * FCI entry a PID and a bitmask of the 16 after it, in order and once each; undefined when it holds no such NACK.
 */
export function nackedSequenceNumbers(rtcp: Buffer, mediaSsrc: number): { nacks: number; seqs: number[] } | undefined {
  const seqs = new Set<number>();
  let nacks = 0;
  for (let at = 0; at + 4 <= rtcp.byteLength; ) {
    if (rtcp[at]! >> 6 !== 2) break;
    const end = at + (rtcp.readUInt16BE(at + 2) + 1) * 4;
    if (end > rtcp.byteLength) break;
    if (rtcp[at + 1] === 205 && (rtcp[at]! & 0x1f) === 1 && end >= at + 12 && rtcp.readUInt32BE(at + 8) === mediaSsrc) {
      nacks++;
      for (let fci = at + 12; fci + 4 <= end; fci += 4) {
        const pid = rtcp.readUInt16BE(fci);
        const blp = rtcp.readUInt16BE(fci + 2);
        seqs.add(pid);
        for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) seqs.add((pid + bit + 1) & 0xffff);
      }
    }
    at = end;
  }
  return nacks ? { nacks, seqs: [...seqs] } : undefined;
}
