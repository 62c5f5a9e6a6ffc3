// What start() waits for once the hub has assigned the entry servers: an upload that streams, or the failure of all.
import { PublishError, type PublisherEventMap } from './publisher-types.js';
import type { TypedEventTarget } from './typed-events.js';
import { describeFailures, type UploadSet } from './upload.js';

/**
 * Resolves once an upload streams (looked at on each `health` event); rejects with `no-ingest` once every upload
 * failed or the publisher closed (`closed`), or with the code of an `error` event.
 */
export function firstUpload(events: TypedEventTarget<PublisherEventMap>, uploads: UploadSet, closed: () => boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      const all = uploads.all();
      if (all.some((u) => u.state === 'streaming')) return done(null);
      if (closed() || all.every((u) => u.state === 'failed')) return done(new PublishError('no-ingest', describeFailures(all)));
    };
    const done = (err: PublishError | null) => {
      events.removeEventListener('health', check);
      events.removeEventListener('error', onError);
      err ? reject(err) : resolve();
    };
    const onError = (e: PublisherEventMap['error']) => done(new PublishError(e.detail.code, e.detail.message));
    events.addEventListener('health', check);
    events.addEventListener('error', onError);
    check();
  });
}
