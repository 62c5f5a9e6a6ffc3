// Named storage errors with stable codes (the ones BlockStore promises callers).

export const StorageErrorCode = {
  /** The id is invalid, escapes the root, or names nothing stored. */
  unknownAsset: 'unknown-asset',
  /** Offset or length is not a sane non-negative integer. */
  badRange: 'bad-range',
  /** The store was closed. */
  closed: 'closed',
  /** The disk said no (permissions, I/O error); see `cause`. */
  io: 'io',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The one error for every id the store will not serve, so probing ids reveals nothing. */
export function unknownAsset(): StorageError {
  return new StorageError(StorageErrorCode.unknownAsset, 'unknown asset');
}
