// A media server's renditions: ffmpeg makes them in the background; each one made is picked up by a storage rescan.
import type { Logger } from '../../signaling/log.js';
import { RenditionMaker } from '../storage/rendition-maker.js';

export interface ServerRenditionsOptions {
  /** Rescan storage: a rendition just made is listed, and reported to the hub, at once. */
  rescan: () => void;
  log: Logger;
}

/** The rendition maker of one server, wired to its storage rescans and its log. */
export function serverRenditions(o: ServerRenditionsOptions): RenditionMaker {
  return new RenditionMaker({
    made: (job) => {
      o.log.info({ asset: job.id, source: job.source }, 'rendition made');
      o.rescan();
    },
    failed: (job, message) => o.log.warn({ asset: job.id, err: message }, 'no rendition made'),
  });
}
