// Server → hub messages cut to fit the hub's message limit: a registration and a report of any size go in pieces.
import { MAX_MESSAGE_BYTES, type OwnDelta, type ServerDescriptor } from '../../signaling/protocol/index.js';

/**
 * JSON bytes of the lists one server → hub message carries (a registration's storage, cache and live
 * lists together; a report's deltas): half the hub's socket.io limit (MAX_MESSAGE_BYTES, past which the
 * hub closes the connection), leaving room for the rest of the message. A storage entry is about 150 B,
 * so about 870 assets a message.
 */
export const MAX_LIST_BYTES_PER_MESSAGE = MAX_MESSAGE_BYTES / 2;
/** Deltas one report carries at most (the hub's `reportSchema`). */
export const MAX_DELTAS_PER_REPORT = 1_000;

/** `items` in order, in runs whose JSON takes at most `maxBytes` each (an item larger than that is a run alone). */
export function inPieces<T>(items: readonly T[], maxBytes = MAX_LIST_BYTES_PER_MESSAGE): T[][] {
  const out: T[][] = [];
  let run: T[] = [];
  let bytes = 2;
  for (const item of items) {
    const n = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (run.length > 0 && bytes + n > maxBytes) {
      out.push(run);
      run = [];
      bytes = 2;
    }
    run.push(item);
    bytes += n;
  }
  if (run.length > 0) out.push(run);
  return out;
}

/**
 * The deltas as reports that each fit `maxBytes` and MAX_DELTAS_PER_REPORT, in order: a delta whose list is
 * too long becomes several deltas of its type (a `storage-add` of 5,000 assets, six of about 870).
 */
export function reportsOf(deltas: readonly OwnDelta[], maxBytes = MAX_LIST_BYTES_PER_MESSAGE): OwnDelta[][] {
  const reports: OwnDelta[][] = [];
  let report: OwnDelta[] = [];
  let bytes = 2;
  const add = (d: OwnDelta): void => {
    const n = Buffer.byteLength(JSON.stringify(d)) + 1;
    if (report.length > 0 && (bytes + n > maxBytes || report.length >= MAX_DELTAS_PER_REPORT)) {
      reports.push(report);
      report = [];
      bytes = 2;
    }
    report.push(d);
    bytes += n;
  };
  for (const d of deltas) {
    if (!('assets' in d)) add(d);
    // 64 B for the delta around its list.
    else for (const piece of inPieces<unknown>(d.assets, maxBytes - 64)) add({ ...d, assets: piece } as OwnDelta);
  }
  if (report.length > 0) reports.push(report);
  return reports;
}

/**
 * A registration that fits the hub's limit: the descriptor with as much of its storage, cache and live lists
 * as a third of `maxBytes` each holds, and the rest as reports to send once it is accepted (`storage-add`,
 * `cache-add`, one `live` per stream). Each report overwrites or adds to the row the registration made, so the
 * hub ends with the whole descriptor.
 */
export function registrationOf(
  d: ServerDescriptor,
  maxBytes = MAX_LIST_BYTES_PER_MESSAGE,
): { descriptor: ServerDescriptor; after: OwnDelta[][] } {
  const third = Math.floor(maxBytes / 3);
  const [storage = [], ...moreStorage] = inPieces(d.storage, third);
  const [cache = [], ...moreCache] = inPieces(d.cache, third);
  const [live = [], ...moreLive] = inPieces(d.live, third);
  const rest: OwnDelta[] = [
    ...moreStorage.map((assets): OwnDelta => ({ type: 'storage-add', assets })),
    ...moreCache.map((assets): OwnDelta => ({ type: 'cache-add', assets })),
    ...moreLive.flat().map((stream): OwnDelta => ({ type: 'live', stream })),
  ];
  return { descriptor: { ...d, storage, cache, live }, after: reportsOf(rest, maxBytes) };
}
