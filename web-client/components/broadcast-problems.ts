// What a refused or failed broadcast means to the person at the page, and which field to fix.
import { ASSET_ID_PATTERN } from '../../signaling/protocol/ids.js';
import { descriptionSchema, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, titleSchema } from '../../signaling/protocol/messages.js';
import type { Problem } from './broadcast-source.js';
import type { LocationInput } from './broadcast-status.js';
import { thousands } from './format.js';

export function geolocationMessage(err: GeolocationPositionError): string {
  switch (err.code) {
    case err.PERMISSION_DENIED:
      return 'Location access was denied. Type the place you are broadcasting from instead.';
    case err.TIMEOUT:
      return 'The device did not find its position in time. Type a place instead.';
    default:
      return 'The device could not determine its position. Type a place instead.';
  }
}

export function validate(
  streamKey: string,
  location: LocationInput,
  streamId: string | undefined,
  meta: { title?: string; description?: string } = {},
): Problem | null {
  if (!streamKey)
    return { code: 'missing-key', message: 'Enter your stream key: the hub only accepts broadcasts that carry one.', field: 'key' };
  if (location.kind === 'text' && !location.text.trim())
    return { code: 'missing-location', message: 'Say where you are broadcasting from, or use your device location.', field: 'location' };
  if (streamId && !ASSET_ID_PATTERN.test(streamId)) {
    return {
      code: 'bad-stream-id',
      message: 'A stream id is up to 64 letters, digits, “-” or “_”, starting with a letter or digit.',
      field: 'streamId',
    };
  }
  // The hub checks the same schemas; checking here says which field to fix before anything is sent.
  if (meta.title !== undefined && !titleSchema.safeParse(meta.title).success)
    return {
      code: 'bad-title',
      message: `A title is one line of at most ${MAX_TITLE_CHARS} characters (now ${meta.title.length}).`,
      field: 'title',
    };
  if (meta.description !== undefined && !descriptionSchema.safeParse(meta.description).success)
    return {
      code: 'bad-description',
      message: `A description is at most ${thousands(MAX_DESCRIPTION_CHARS)} characters (now ${thousands(meta.description.length)}).`,
      field: 'description',
    };
  return null;
}

/** What a refused or failed start means, and which field to fix. */
export function publishProblem(code: string, message: string): Problem {
  switch (code) {
    case 'unauthorized':
      return { code, message: `The hub refused the stream key (${message}). Check the key your operator gave you.`, field: 'key' };
    case 'unknown-place':
      return {
        code,
        message: 'The hub does not know that place. Pick one of the suggestions, type “lat, lon”, or use your device location.',
        field: 'location',
      };
    case 'no-ingest':
      return { code, message: `No ingest server can take the stream right now (${message}).` };
    case 'no-director':
      return { code, message: 'No media server holds the director role yet, so nobody can assign entry servers. Try again in a moment.' };
    case 'conflict':
      return { code, message: `That stream id is taken (${message}). Choose another one, or leave it empty.`, field: 'streamId' };
    case 'timeout':
      return { code, message: `The cluster did not answer in time (${message}). Try again.` };
    case 'rate-limited':
      return { code, message: 'Too many requests. Wait a moment, then go live again.' };
    case 'too-many-broadcasts':
      return {
        code,
        message: `This stream key already has as many broadcasts live as the hub allows (${message}). End one of them, or ask your operator for another key.`,
        field: 'key',
      };
    case 'bad-request':
      return { code, message: `The hub refused the request: ${message}` };
    default:
      return { code, message };
  }
}

export function deviceLabel(l: { lat: number; lon: number; accuracyM: number }): string {
  return `Device location (${l.lat.toFixed(2)}, ${l.lon.toFixed(2)})`;
}
