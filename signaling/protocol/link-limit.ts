// The bounds of a viewer's delivery limit (`limit` frame), apart from the frame schemas: a page's first module
// reads them without loading zod.

/** The lowest and highest delivery limit a viewer may ask for (`limit` frame), bits per second. */
export const MIN_LINK_LIMIT_BPS = 16_000;
export const MAX_LINK_LIMIT_BPS = 10_000_000_000;
