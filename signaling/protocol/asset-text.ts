// What a broadcaster or a sidecar may call an asset: the title's and description's bounds and schemas.
import { z } from 'zod';

/** Longest title of an asset or broadcast, in characters (UTF-16 code units). */
export const MAX_TITLE_CHARS = 200;
/** Longest description of an asset or broadcast, in characters (UTF-16 code units). */
export const MAX_DESCRIPTION_CHARS = 2_000;

/**
 * No left-to-right or right-to-left override (U+202D, U+202E): they show a title's letters in reverse ("\u202Eevil"
 * reads "live"), a spoof no right-to-left language needs (its letters order themselves; embeddings and isolates stay).
 */
const NO_BIDI_OVERRIDE = /^[^\u202d\u202e]*$/;
/** A title: one line, no control characters, not blank. */
export const titleSchema = z
  .string()
  .trim()
  .min(1, 'the title is empty')
  .max(MAX_TITLE_CHARS, `the title is longer than ${MAX_TITLE_CHARS} characters`)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'the title must be one line without control characters')
  .regex(NO_BIDI_OVERRIDE, 'the title must not contain bidi overrides (U+202D, U+202E): they show its letters reversed');
/** A description: may span lines (newline, tab), no other control characters. */
export const descriptionSchema = z
  .string()
  .trim()
  .max(MAX_DESCRIPTION_CHARS, `the description is longer than ${MAX_DESCRIPTION_CHARS} characters`)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  .regex(/^[^\u0000-\u0008\u000b-\u001f\u007f]*$/, 'the description must not contain control characters other than newlines and tabs')
  .regex(NO_BIDI_OVERRIDE, 'the description must not contain bidi overrides (U+202D, U+202E): they show its letters reversed');
