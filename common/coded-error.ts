// The one error type: a stable `code` from the one vocabulary (common/error-codes.ts),
// a message for people, and the wrapped `cause`. Named subclasses only add a name.
import type { Code } from './error-codes.js';

export type { Code } from './error-codes.js';

/**
 * An error with a stable `code`. `C` narrows the codes a subclass raises; codes
 * that arrive over the wire from a newer peer are kept as they came (`string`).
 */
export class CodedError<C extends string = Code | (string & {})> extends Error {
  override name = 'CodedError';
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The code of any thrown value: a CodedError's, else `fallback`. */
export function codeOf(err: unknown, fallback: Code = 'internal'): string {
  return err instanceof CodedError ? err.code : fallback;
}
