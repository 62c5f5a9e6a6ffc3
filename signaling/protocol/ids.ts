// Identifier rules shared by hub, servers and browsers: what a valid id looks like.

/**
 * Asset ids (and live stream ids) are short slugs: letters, digits, `_` and `-`,
 * starting with a letter or digit, at most 64 characters. No dots, slashes,
 * backslashes, percent signs or NULs can appear, so an id can never name a path
 * outside a storage root once `.webm` is appended.
 */
export const ASSET_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** ASSET_ID_PATTERN in words, for an error a person reads. */
export const ASSET_ID_RULE = 'an id is 1 to 64 letters, digits, _ or -, starting with a letter or digit';

/** Server ids follow the same slug rule as asset ids. */
export const SERVER_ID_PATTERN = ASSET_ID_PATTERN;
/** A stored copy's fingerprint: its size in base 36, a dash, 16 hex digits of a hash of its first and last 64 KiB. */
export const FINGERPRINT_PATTERN = /^[0-9a-z]{1,12}-[0-9a-f]{16}$/;

/** Session ids are opaque slugs issued by the hub. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

export function isAssetId(value: unknown): value is string {
  return typeof value === 'string' && ASSET_ID_PATTERN.test(value);
}

export function isServerId(value: unknown): value is string {
  return typeof value === 'string' && SERVER_ID_PATTERN.test(value);
}

/**
 * A rendition of a stored asset is a stored asset of its own, named `<source>__<height>p`
 * (`talk__240p`): the director and the caches treat it as any other asset, and the catalog lists it
 * under its source. The suffix is reserved: an asset named so is taken for a rendition.
 */
const RENDITION_ID = /^(.+)__([1-9][0-9]{1,3})p$/;

/** The rendition id of `source` at `heightPx`, or undefined when it would not be a valid asset id (too long). */
export function renditionId(source: string, heightPx: number): string | undefined {
  const id = `${source}__${heightPx}p`;
  return isAssetId(id) ? id : undefined;
}

/** The source and height a rendition id names, or undefined for an asset that is not a rendition. */
export function parseRenditionId(id: string): { source: string; heightPx: number } | undefined {
  const m = RENDITION_ID.exec(id);
  return m && isAssetId(id) ? { source: m[1]!, heightPx: Number(m[2]) } : undefined;
}

/**
 * What names a session message's session: its WHIP/WHEP resource id, else its session id. A hub routes a server's
 * session messages by it (several hubs), and a server sends them back on the hub connection the session came from.
 */
export function routeKey(msg: unknown): string | undefined {
  if (typeof msg !== 'object' || msg === null) return undefined;
  const m = msg as { resourceId?: unknown; sessionId?: unknown };
  return typeof m.resourceId === 'string' ? m.resourceId : typeof m.sessionId === 'string' ? m.sessionId : undefined;
}
