// What a WHIP request (RFC 9725) carries: the stream key as a Bearer token, where the broadcaster is, the SDP offer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PublishRequest } from './protocol/index.js';
import { fail, isSdp, readOffer } from './sdp-http.js';

/** A WHIP POST, read and checked. */
export interface WhipPost {
  /** The stream key. */
  token: string;
  location: PublishRequest['location'];
  /** The publisher's offer (it sends media). */
  sdp: string;
}

/** Reads a WHIP POST; one that lacks a part or carries a wrong one is answered (415, 401, 400, 413) and is undefined. */
export async function readWhipPost(req: IncomingMessage, res: ServerResponse): Promise<WhipPost | undefined> {
  if (!isSdp(req)) return void fail(res, 415, 'Content-Type must be application/sdp');
  const token = bearer(req);
  if (!token) return void fail(res, 401, 'missing Authorization: Bearer <stream key>', { 'www-authenticate': 'Bearer' });
  const places = new URL(req.url ?? '/', 'http://hub').searchParams.getAll('location');
  // Which one would be meant? Refused, as /api/catalog refuses a repeated parameter.
  if (places.length > 1) return void fail(res, 400, 'location is given more than once in the WHIP URL');
  const location = places[0]?.trim();
  if (!location) return void fail(res, 400, 'missing ?location=<place or lat,lon> in the WHIP URL');
  const sdp = await readOffer(req, res, 'send');
  return sdp === undefined ? undefined : { token, location: coordinates(location), sdp };
}

/** The stream key a WHIP request presents (`Authorization: Bearer <key>`). */
export function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S{1,512})$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** `lat,lon` in the query is coordinates; anything else is a place name. */
function coordinates(location: string): PublishRequest['location'] {
  const m = /^(-?\d+(?:\.\d+)?),\s*(-?\d+(?:\.\d+)?)$/.exec(location);
  return m ? { lat: Number(m[1]), lon: Number(m[2]) } : location.slice(0, 120);
}
