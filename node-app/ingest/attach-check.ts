// Whether a publisher's connection may write a stream here: the copy's owner, its state, and where it can resume.
import { sameSecret } from '../../signaling/stream-owners.js';
import { IngestError, IngestErrorCode } from './errors.js';
import type { LiveWriter } from './live-writer.js';

/** What the check reads of a copy already being written here. */
export interface CopyHere {
  /** The hub-minted ownership secret the copy was started with. */
  secret: string;
  state: LiveWriter['state'];
  /** The next chunk the copy needs. */
  nextSeq: number;
}

/**
 * Why a publisher (with `secret`, able to send chunks from `resumeFrom` on) may
 * not write `streamId` here, or undefined when it may: only the publisher that
 * started a copy continues it (a second broadcaster of the id is refused), only
 * while it is open, and only if it still has every chunk the copy lacks; a new
 * copy needs every chunk from 0.
 */
export function attachRefusal(streamId: string, copy: CopyHere | undefined, secret: string, resumeFrom: number): IngestError | undefined {
  if (!copy) {
    if (resumeFrom > 0)
      return new IngestError(
        IngestErrorCode.cannotResume,
        `a new copy needs every chunk from 0; the publisher can only send from ${resumeFrom}`,
      );
    return undefined;
  }
  if (!sameSecret(copy.secret, secret))
    return new IngestError(IngestErrorCode.notOwner, `stream ${streamId} is being written here by another publisher`);
  if (copy.state !== 'open') return new IngestError(IngestErrorCode.conflict, `stream ${streamId} is already ${copy.state}`);
  if (resumeFrom > copy.nextSeq) {
    return new IngestError(
      IngestErrorCode.cannotResume,
      `this copy needs chunks from ${copy.nextSeq}; the publisher can only send from ${resumeFrom}`,
    );
  }
  return undefined;
}
