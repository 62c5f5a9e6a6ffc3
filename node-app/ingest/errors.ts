// Named ingest errors with the stable codes the ingest channel carries.
import { IngestErrorCode } from '../../signaling/protocol/ingest-frames.js';
import { CodedError } from '../../common/coded-error.js';

export { IngestErrorCode };

export class IngestError extends CodedError<IngestErrorCode> {
  override readonly name = 'IngestError';
}

/** The disk said no: ENOSPC/EDQUOT become `disk-full`, anything else `write-failed`. */
export function ioError(err: unknown, what: string): IngestError {
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'ENOSPC' || errno === 'EDQUOT')
    return new IngestError(IngestErrorCode.diskFull, `the server's disk is full (${what})`, { cause: err });
  return new IngestError(IngestErrorCode.writeFailed, `${what} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
