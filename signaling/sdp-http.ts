// HTTP parts the WHIP and WHEP routes share: ICE servers as Link headers, ack codes as statuses, bounded bodies, SDP offers, errors.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from './protocol/index.js';
import { MAX_WHIP_SDP_BYTES, SdpError, summarizeOffer } from './protocol/whip-sdp.js';

/** The ICE servers as `Link: <url>; rel="ice-server"` headers (RFC 9725 §4.4), for WHIP and WHEP alike. */
export function linkHeaders(iceServers: RTCIceServer[]): Record<string, string[]> {
  const links = iceServers.flatMap((s) =>
    (Array.isArray(s.urls) ? s.urls : [s.urls]).map((u) => {
      const creds = s.username ? `; username="${s.username}"; credential="${s.credential ?? ''}"; credential-type="password"` : '';
      return `<${u}>; rel="ice-server"${creds}`;
    }),
  );
  return links.length ? { link: links } : {};
}

export function statusFor(code: string): number {
  switch (code) {
    case ErrorCode.unauthorized:
      return 401;
    case ErrorCode.conflict:
      return 409;
    case ErrorCode.unknownPlace:
    case ErrorCode.badRequest:
      return 400;
    case ErrorCode.rateLimited:
    case ErrorCode.tooManyBroadcasts:
      return 429;
    case ErrorCode.noIngest:
    case ErrorCode.noDirector:
    case ErrorCode.noCapacity:
    case ErrorCode.timeout:
    case ErrorCode.staleEpoch:
      return 503;
    default:
      return 500;
  }
}

/**
 * The body as text, or null once it passes `maxBytes`: the rest is not read, and after the 413 `lingerUnreadBodies`
 * closes the connection (not `Connection: close`, with which Node destroyed the socket with the body unread, and the
 * reset could drop the 413 from the client's receive queue).
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.byteLength;
      if (n > maxBytes) {
        req.removeAllListeners('data');
        req.pause();
        return resolve(null);
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Whether a request says it carries SDP (`Content-Type: application/sdp`, parameters aside). */
export function isSdp(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === 'application/sdp';
}

/**
 * The SDP offer a request carries, once `summarizeOffer` took it (`want`: whether the offerer sends media or receives
 * it). One larger than MAX_WHIP_SDP_BYTES is answered 413, a malformed one 400 (both with `headers`): undefined.
 */
export async function readOffer(
  req: IncomingMessage,
  res: ServerResponse,
  want: 'send' | 'receive',
  headers: Record<string, string> = {},
): Promise<string | undefined> {
  const sdp = await readBody(req, MAX_WHIP_SDP_BYTES);
  if (sdp === null) return void fail(res, 413, `SDP offer larger than ${MAX_WHIP_SDP_BYTES} bytes`, headers);
  try {
    summarizeOffer(sdp, want);
  } catch (err) {
    if (err instanceof SdpError) return void fail(res, 400, `bad SDP offer: ${err.message}`, headers);
    throw err;
  }
  return sdp;
}

/** The reason each failed response was sent with (for its log line), until the response is gone. */
const reasons = new WeakMap<ServerResponse, string>();

/** The reason `fail` answered `res` with, if it did. */
export function failureReason(res: ServerResponse): string | undefined {
  return reasons.get(res);
}

export function fail(res: ServerResponse, status: number, reason: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  reasons.set(res, reason);
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(`${reason}\n`);
}
