// A media server's renditions: ffmpeg makes them in the background; each one made (or removed with its source)
// is picked up by a storage rescan.
import type { Logger } from '../../signaling/log.js';
import { RenditionMaker, removePartialOutputs } from '../storage/rendition-maker.js';

export interface ServerRenditionsOptions {
  /** Rescan storage: a rendition just made (`made`: its id, a whole file) is listed, and reported to the hub, at once. */
  rescan: (made?: string) => void;
  log: Logger;
}

/** The rendition maker of one server, wired to its storage rescans and its log. */
export function serverRenditions(o: ServerRenditionsOptions): RenditionMaker {
  return new RenditionMaker({
    made: (job) => {
      o.log.info({ asset: job.id, source: job.source }, 'rendition made');
      o.rescan(job.id);
    },
    failed: (job, message) => o.log.warn({ asset: job.id, err: message }, 'no rendition made'),
    deferred: (job, message) => o.log.warn({ asset: job.id, err: message }, 'rendition waits: the disk refused it'),
    removed: (id, source) => {
      o.log.info({ asset: id, source }, 'rendition removed: its source left storage');
      o.rescan();
    },
  });
}

/** Removes the partial renditions, posters and sidecars a server killed mid-write left in `dir`, and says so. */
export async function sweepPartialOutputs(dir: string, log: Logger): Promise<void> {
  const removed = await removePartialOutputs(dir);
  if (removed.length) log.info({ files: removed }, 'partial renditions, posters or sidecars of a previous run removed');
}
