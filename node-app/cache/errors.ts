// Named errors of the cache layer: thin CodedErrors, each with its one stable code.
import { CodedError } from '../../common/coded-error.js';

/** A caller passed a value the cache cannot use (negative block, bad budget…). */
export class CacheArgumentError extends CodedError<'bad-request'> {
  override readonly name = 'CacheArgumentError';
  constructor(message: string) {
    super('bad-request', message);
  }
}

/** The asset is not in the store (or its id is invalid). */
export class UnknownAssetError extends CodedError<'unknown-asset'> {
  override readonly name = 'UnknownAssetError';
  constructor(assetId: string) {
    super('unknown-asset', `asset ${assetId} is not stored here`);
  }
}

/** A read on a source that was closed. */
export class SourceClosedError extends CodedError<'closed'> {
  override readonly name = 'SourceClosedError';
  constructor(assetId: string) {
    super('closed', `source of ${assetId} is closed`);
  }
}

/** The file under the source's asset id is another one than at open: its bytes must not follow the old file's. */
export class AssetChangedError extends CodedError<'asset-changed'> {
  override readonly name = 'AssetChangedError';
  constructor(assetId: string) {
    super('asset-changed', `the stored file of ${assetId} changed on this server`);
  }
}

/** The stored file under the id is gone from this server (deleted, its storage removed): a viewer may resume elsewhere. */
export class AssetGoneError extends CodedError<'asset-gone'> {
  override readonly name = 'AssetGoneError';
  constructor(assetId: string) {
    super('asset-gone', `the stored file of ${assetId} left this server`);
  }
}
