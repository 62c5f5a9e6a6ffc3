// Refuses a broadcast that is not WebM with accepted codecs, from its first bytes (before any is stored).
import { AVC_CODEC_ID, probeWebm } from '../storage/webm-probe.js';
import { unplayableTracks } from '../storage/playable-tracks.js';

/** The init segment (EBML header, Info, Tracks) must be complete within this many bytes. */
export const MAX_INIT_SEGMENT_BYTES = 256 * 1024;
const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3] as const;

/** False once `head` (a stream's first bytes, maybe fewer than four) cannot be the start of an EBML document. */
export function startsLikeEbml(head: Uint8Array): boolean {
  for (let i = 0; i < Math.min(EBML_MAGIC.length, head.byteLength); i++) if (head[i] !== EBML_MAGIC[i]) return false;
  return true;
}

/**
 * Fed a stream's chunks in order, says whether each may be stored: the first
 * bytes must be an EBML header with DocType `webm`, and the Tracks (complete
 * within MAX_INIT_SEGMENT_BYTES) must all use ACCEPTED_CODEC_IDS. Keeps at most
 * MAX_INIT_SEGMENT_BYTES, and nothing once the head has passed.
 */
export class WebmHeadCheck {
  #head: Uint8Array | null = new Uint8Array(MAX_INIT_SEGMENT_BYTES);
  #filled = 0;

  /** True once the whole init segment was checked and accepted. */
  get passed(): boolean {
    return this.#head === null;
  }

  /** The reason the stream is refused with `payload` as its next chunk, or undefined when it may go on. */
  check(payload: Uint8Array): string | undefined {
    const head = this.#head;
    if (!head) return undefined;
    const take = Math.min(payload.byteLength, head.byteLength - this.#filled);
    const next = head.subarray(0, this.#filled + take);
    next.set(payload.subarray(0, take), this.#filled);
    if (!startsLikeEbml(next)) return 'not a WebM stream: it does not start with an EBML header';
    const probe = probeWebm(next);
    if (probe.complete) {
      // The DocType is judged on a whole head only: a partial EBML header reads as garbage.
      // WebM allows no H.264: a stream with it is DocType matroska, and only such a stream may be.
      // The codecs first: a Matroska stream of MPEG-4 or AAC is refused for what it carries, not for its DocType.
      const unplayable = unplayableTracks(probe);
      if (unplayable) return probe.tracks.length === 0 ? 'the stream has no tracks' : unplayable;
      const avc = probe.tracks.some((t) => t.codecId === AVC_CODEC_ID);
      if (probe.docType !== (avc ? 'matroska' : 'webm')) {
        const docType = JSON.stringify(probe.docType.slice(0, 32));
        return avc
          ? `not a Matroska stream: DocType ${docType} (H.264 is stored as Matroska)`
          : `not a WebM stream: DocType ${docType} (its codecs fit WebM: remux it, e.g. ffmpeg -i IN -c copy -f webm OUT)`;
      }
      this.#head = null;
      return undefined;
    }
    if (next.byteLength >= head.byteLength) return `no complete Tracks in the first ${MAX_INIT_SEGMENT_BYTES} bytes`;
    this.#filled = next.byteLength;
    return undefined;
  }
}
