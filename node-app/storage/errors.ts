// Named storage errors with stable codes (the ones BlockStore promises callers).
import { CodedError } from '../../common/coded-error.js';
import { Code } from '../../common/error-codes.js';

/** The storage layer's codes, from the one vocabulary (common/error-codes.ts). */
export const StorageErrorCode = {
  /** The id is invalid, escapes the root, or names nothing stored. */
  unknownAsset: Code.unknownAsset,
  /** Offset or length is not a sane non-negative integer. */
  badRange: Code.badRange,
  /** The store was closed. */
  closed: Code.closed,
  /** The disk said no (permissions, I/O error); see `cause`. */
  io: Code.io,
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageError extends CodedError<StorageErrorCode> {
  override readonly name = 'StorageError';
}

/** The one error for every id the store will not serve, so probing ids reveals nothing. */
export function unknownAsset(): StorageError {
  return new StorageError(StorageErrorCode.unknownAsset, 'unknown asset');
}
