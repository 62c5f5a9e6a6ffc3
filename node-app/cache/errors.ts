// Named errors of the cache layer, each with a stable code.

/** A caller passed a value the cache cannot use (negative block, bad budget…). */
export class CacheArgumentError extends Error {
  readonly code = 'bad-request';
  constructor(message: string) {
    super(message);
    this.name = 'CacheArgumentError';
  }
}

/** The asset is not in the store (or its id is invalid). */
export class UnknownAssetError extends Error {
  readonly code = 'unknown-asset';
  constructor(assetId: string) {
    super(`asset ${assetId} is not stored here`);
    this.name = 'UnknownAssetError';
  }
}

/** A read on a source that was closed. */
export class SourceClosedError extends Error {
  readonly code = 'closed';
  constructor(assetId: string) {
    super(`source of ${assetId} is closed`);
    this.name = 'SourceClosedError';
  }
}
