// Where the broadcaster is: the hub's place suggestions for what they type, the device's position from the browser,
// and the publish request's `location` made from either. Apart from the controller, which only runs the broadcast.
import type { PublishRequest } from '../../signaling/protocol/messages.js';
import type { Place } from '../../signaling/protocol/types.js';
import { ask, placesReplySchema } from '../../client-sdk/hub-replies.js';
import { deviceLabel, geolocationMessage } from './broadcast-problems.js';
import { CaptureError } from './broadcast-source.js';
import type { LocationInput } from './broadcast-status.js';
import { ACK_TIMEOUT_MS, type ClientSocket } from './hub-socket.js';

/** Device geolocation gives up after this long (ms). */
const GEOLOCATION_TIMEOUT_MS = 15_000;

/** Gazetteer suggestions for what the user typed (empty when the hub is unreachable). */
export async function suggestPlaces(socket: ClientSocket | null | undefined, q: string, limit: number): Promise<Place[]> {
  if (!socket?.connected || !q.trim()) return [];
  const r = await ask(socket, 'places', { q: q.trim(), limit }, placesReplySchema, ACK_TIMEOUT_MS);
  return r.ok ? r.places : [];
}

/** The device's position from the browser's geolocation (asks for permission). */
export function deviceLocation(): Promise<LocationInput & { kind: 'device' }> {
  return new Promise((resolve, reject) => {
    if (!('geolocation' in navigator))
      return reject(new CaptureError('no-geolocation', 'This browser cannot tell where the device is. Type a place instead.'));
    navigator.geolocation.getCurrentPosition(
      (pos) =>
        resolve({
          kind: 'device',
          lat: round(pos.coords.latitude, 4),
          lon: round(pos.coords.longitude, 4),
          accuracyM: Math.round(pos.coords.accuracy),
        }),
      (err) => reject(new CaptureError('geolocation', geolocationMessage(err))),
      { enableHighAccuracy: false, timeout: GEOLOCATION_TIMEOUT_MS, maximumAge: 600_000 },
    );
  });
}

/** The `location` of a publish request: the typed text, or the device's coordinates with a label. */
export function publishLocation(l: LocationInput): PublishRequest['location'] {
  return l.kind === 'text' ? l.text.trim() : { lat: l.lat, lon: l.lon, label: deviceLabel(l) };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
