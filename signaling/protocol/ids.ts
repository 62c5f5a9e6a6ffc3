// Identifier rules shared by hub, servers and browsers: what a valid id looks like.

/**
 * Asset ids (and live stream ids) are short slugs: letters, digits, `_` and `-`,
 * starting with a letter or digit, at most 64 characters. No dots, slashes,
 * backslashes, percent signs or NULs can appear, so an id can never name a path
 * outside a storage root once `.webm` is appended.
 */
export const ASSET_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Server ids follow the same slug rule as asset ids. */
export const SERVER_ID_PATTERN = ASSET_ID_PATTERN;

/** Session ids are opaque slugs issued by the hub. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

export function isAssetId(value: unknown): value is string {
  return typeof value === 'string' && ASSET_ID_PATTERN.test(value);
}

export function isServerId(value: unknown): value is string {
  return typeof value === 'string' && SERVER_ID_PATTERN.test(value);
}
