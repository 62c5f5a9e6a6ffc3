// A slow network between one viewer and its server: a UDP relay in the test process that the
// two peers are steered through by rewriting their ICE candidates in the relayed signaling.
// Server → viewer goes through a token bucket and a small tail-drop queue (a bottleneck
// router); viewer → server passes freely.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/** A change to a signal on its way through the hub; null drops it. */
export type SignalRewrite = (data: unknown) => unknown | null;

export interface SlowLink {
  /** Apply to signals from the viewer to the server. */
  toServer: SignalRewrite;
  /** Apply to signals from the server to the viewer. */
  toViewer: SignalRewrite;
  readonly stats: { forwardedBytes: number; droppedPackets: number };
  close(): void;
}

/** How often the bottleneck releases packets. */
const PUMP_MS = 5;
const LOOPBACK = '127.0.0.1';

interface Endpoint {
  ip: string;
  port: number;
}

/** Opens a relay limiting server → viewer to `rateBytesPerS`, queueing at most `queueBytes`. */
export async function openSlowLink(rateBytesPerS: number, queueBytes = 32 * 1024): Promise<SlowLink> {
  const bind = async () => {
    const s = createSocket('udp4');
    await new Promise<void>((done) => s.bind(0, LOOPBACK, done));
    return s;
  };
  // The server talks to serverSide (as if it were the viewer), the viewer to viewerSide.
  const serverSide: UdpSocket = await bind();
  const viewerSide: UdpSocket = await bind();
  let viewer: Endpoint | undefined;
  let server: Endpoint | undefined;
  const stats = { forwardedBytes: 0, droppedPackets: 0 };
  const queue: Buffer[] = [];
  let queued = 0;
  let tokens = 0;
  let last = performance.now();
  const burst = Math.max(2_048, rateBytesPerS * 0.02);

  serverSide.on('message', (msg) => {
    if (!viewer) return;
    if (queued + msg.byteLength > queueBytes) {
      stats.droppedPackets++;
      return;
    }
    queue.push(msg);
    queued += msg.byteLength;
  });
  viewerSide.on('message', (msg) => {
    if (server) serverSide.send(msg, server.port, server.ip);
  });
  const pump = setInterval(() => {
    const now = performance.now();
    tokens = Math.min(burst, tokens + (rateBytesPerS * (now - last)) / 1000);
    last = now;
    while (queue.length && viewer && tokens >= queue[0]!.byteLength) {
      const msg = queue.shift()!;
      queued -= msg.byteLength;
      tokens -= msg.byteLength;
      stats.forwardedBytes += msg.byteLength;
      viewerSide.send(msg, viewer.port, viewer.ip);
    }
  }, PUMP_MS);

  const port = (s: UdpSocket) => (s.address() as AddressInfo).port;
  /**
   * `a=candidate:F C UDP PRIO IP PORT typ T ...`: IPv6 candidates are dropped, the first
   * IPv4 one is remembered as the real endpoint and replaced by the relay's address.
   */
  const candidate = (line: string, side: 'viewer' | 'server'): string | null => {
    const f = line.split(' ');
    const ip = f[4];
    const p = Number(f[5]);
    if (!ip || !Number.isInteger(p) || ip.includes(':')) return null;
    if (side === 'viewer') viewer ??= { ip, port: p };
    else server ??= { ip, port: p };
    f[4] = LOOPBACK;
    f[5] = String(port(side === 'viewer' ? serverSide : viewerSide));
    return f.join(' ');
  };
  const rewrite =
    (side: 'viewer' | 'server'): SignalRewrite =>
    (data) => {
      const d = data as { type?: string; sdp?: string; candidate?: { candidate?: string } };
      if (d?.type === 'candidate' && typeof d.candidate?.candidate === 'string') {
        const c = candidate(d.candidate.candidate, side);
        return c === null ? null : { ...d, candidate: { ...d.candidate, candidate: c } };
      }
      if (typeof d?.sdp === 'string') {
        const lines = d.sdp.split('\r\n').flatMap((l) => (l.startsWith('a=candidate:') ? (candidate(l, side) ?? []) : [l]));
        return { ...d, sdp: lines.join('\r\n') };
      }
      return data;
    };
  return {
    toServer: rewrite('viewer'),
    toViewer: rewrite('server'),
    stats,
    close: () => {
      clearInterval(pump);
      serverSide.close();
      viewerSide.close();
    },
  };
}
