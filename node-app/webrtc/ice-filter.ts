// Which remote ICE candidates a media server will probe: viewers and publishers must not make it
// send connectivity checks to arbitrary hosts (hostnames, its own loopback, private networks).
import { BlockList, isIP } from 'node:net';

/** Ranges a server does not probe unless `--ice-allow` names them: loopback, private, link-local, and the like. */
const RESTRICTED_V4: ReadonlyArray<[string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const RESTRICTED_V6: ReadonlyArray<[string, number]> = [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
];

/** Keywords `--ice-allow` takes besides CIDRs. */
export const ICE_ALLOW_KEYWORDS: Readonly<Record<string, ReadonlyArray<string>>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'],
};

/** mDNS names browsers put in host candidates instead of their address (`<uuid>.local`). */
const MDNS_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.local$/i;

export type DropReason = 'hostname' | 'restricted' | 'malformed';

/**
 * Parses `--ice-allow`: a comma-separated list of CIDRs (`10.1.0.0/16`, `::1/128`)
 * and the keywords `loopback` and `private`. Throws with the bad item named.
 */
export function parseIceAllow(spec: string): string[] {
  const out: string[] = [];
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const kw = ICE_ALLOW_KEYWORDS[item.toLowerCase()];
    if (kw) {
      out.push(...kw);
      continue;
    }
    const m = /^([^/]+)\/(\d{1,3})$/.exec(item);
    const family = m ? isIP(m[1]!) : 0;
    if (!m || family === 0 || Number(m[2]) > (family === 4 ? 32 : 128)) {
      throw new Error(`"${item.slice(0, 64)}" is not a CIDR (a.b.c.d/n, x::y/n) or one of ${Object.keys(ICE_ALLOW_KEYWORDS).join(', ')}`);
    }
    out.push(`${m[1]}/${m[2]}`);
  }
  return out;
}

export class IceFilter {
  readonly #restricted = new BlockList();
  readonly #allowed = new BlockList();
  readonly #onDrop: (reason: DropReason, address: string) => void;

  /** `allow`: CIDRs (from parseIceAllow) probed even inside the restricted ranges. */
  constructor(allow: readonly string[] = [], onDrop: (reason: DropReason, address: string) => void = () => {}) {
    for (const [net, bits] of RESTRICTED_V4) this.#restricted.addSubnet(net, bits, 'ipv4');
    for (const [net, bits] of RESTRICTED_V6) this.#restricted.addSubnet(net, bits, 'ipv6');
    for (const cidr of allow) {
      const [net, bits] = cidr.split('/') as [string, string];
      this.#allowed.addSubnet(net, Number(bits), isIP(net) === 6 ? 'ipv6' : 'ipv4');
    }
    this.#onDrop = onDrop;
  }

  /** Why a candidate line (`candidate:…` or `a=candidate:…`) must not be probed, or undefined when it may. */
  check(line: string): DropReason | undefined {
    const fields = line.replace(/^a=/, '').trim().split(/\s+/);
    if (fields.length < 8 || !fields[0]!.startsWith('candidate:')) return 'malformed';
    const address = fields[4]!;
    const family = isIP(address);
    if (family === 0) return MDNS_NAME.test(address) ? undefined : 'hostname';
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (this.#allowed.check(address, type)) return undefined;
    return this.#restricted.check(address, type) ? 'restricted' : undefined;
  }

  /**
   * A client's signal rebuilt from an allow-list, its disallowed candidates taken out; null to drop it. simple-peer
   * acts on fields whatever the `type` says (`data.candidate` is added even in an "offer"), so nothing a client sent is
   * passed on as it came:
   * - any object carrying `candidate` is a candidate, whatever its `type`: `{type: 'candidate', candidate: {candidate,
   *   sdpMid?, sdpMLineIndex?, usernameFragment?}}`, or null when the line is not a string or must not be probed
   *   (an empty line, the end of candidates, is kept);
   * - an offer or answer is `{type, sdp}` only, its disallowed `a=candidate:` lines taken out;
   * - anything else is null.
   */
  filterSignal(data: unknown): FilteredSignal | null {
    if (!data || typeof data !== 'object' || Array.isArray(data)) return null;
    const d = data as Record<string, unknown>;
    if ('candidate' in d) return this.#candidate(d.candidate);
    if ((d.type === 'offer' || d.type === 'answer') && typeof d.sdp === 'string') return { type: d.type, sdp: this.filterSdp(d.sdp) };
    return null;
  }

  /** An SDP without its disallowed `a=candidate:` lines (line endings kept). */
  filterSdp(sdp: string): string {
    if (!sdp.includes('a=candidate:')) return sdp;
    // Lines end in CRLF by the spec, but the WebRTC stack takes a bare LF too: split on either, or a candidate on a
    // LF-ended line would pass unchecked.
    const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
    const kept = sdp.split(/\r?\n/).filter((l) => {
      if (!l.startsWith('a=candidate:')) return true;
      const why = this.check(l);
      if (why) this.#onDrop(why, addressOf(l));
      return !why;
    });
    return kept.join(eol);
  }

  #candidate(raw: unknown): FilteredSignal | null {
    if (!raw || typeof raw !== 'object') return null;
    const c = raw as Record<string, unknown>;
    if (typeof c.candidate !== 'string') return null;
    if (c.candidate !== '') {
      const why = this.check(c.candidate);
      if (why) {
        this.#onDrop(why, addressOf(c.candidate));
        return null;
      }
    }
    const candidate: IceCandidateSignal['candidate'] = { candidate: c.candidate };
    if (typeof c.sdpMid === 'string' || c.sdpMid === null) candidate.sdpMid = c.sdpMid;
    if ((Number.isInteger(c.sdpMLineIndex) && (c.sdpMLineIndex as number) >= 0) || c.sdpMLineIndex === null)
      candidate.sdpMLineIndex = c.sdpMLineIndex as number | null;
    if (typeof c.usernameFragment === 'string' || c.usernameFragment === null) candidate.usernameFragment = c.usernameFragment;
    return { type: 'candidate', candidate };
  }
}

/** A remote ICE candidate as the WebRTC stack takes it (RTCIceCandidateInit's fields, nothing else). */
export interface IceCandidateSignal {
  type: 'candidate';
  candidate: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null; usernameFragment?: string | null };
}

/** What filterSignal passes on: an offer or answer, or one candidate. */
export type FilteredSignal = { type: 'offer' | 'answer'; sdp: string } | IceCandidateSignal;

function addressOf(line: string): string {
  return (line.trim().split(/\s+/)[4] ?? '').slice(0, 80);
}
