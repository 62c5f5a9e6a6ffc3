// Refuses a broadcast that is not WebM with accepted codecs, from its first bytes (before any is stored).
import { AVC_CODEC_ID, probeWebm } from '../storage/webm-probe.js';

/**
 * Matroska CodecIDs a broadcast may carry: what MediaRecorder writes and MSE plays in WebM, and H.264
 * (what OBS's WHIP output sends; stored as Matroska, played over WHEP — Chromium's MSE takes no H.264 in Matroska).
 */
export const ACCEPTED_CODEC_IDS: ReadonlySet<string> = new Set(['V_VP8', 'V_VP9', 'V_AV1', 'A_OPUS', 'A_VORBIS', AVC_CODEC_ID]);
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
      const avc = probe.tracks.some((t) => t.codecId === AVC_CODEC_ID);
      if (probe.docType !== (avc ? 'matroska' : 'webm')) {
        return `not a ${avc ? 'Matroska' : 'WebM'} stream: DocType ${JSON.stringify(probe.docType.slice(0, 32))}`;
      }
      if (probe.tracks.length === 0) return 'the stream has no tracks';
      const bad = probe.tracks.find((t) => !ACCEPTED_CODEC_IDS.has(t.codecId));
      if (bad) return `codec ${JSON.stringify(bad.codecId.slice(0, 32))} is not accepted (VP8, VP9, AV1, H.264, Opus, Vorbis)`;
      const avcBad = probe.tracks.map((t) => (t.codecId === AVC_CODEC_ID ? unplayableAvc(t.mseCodec) : undefined)).find(Boolean);
      if (avcBad) return avcBad;
      this.#head = null;
      return undefined;
    }
    if (next.byteLength >= head.byteLength) return `no complete Tracks in the first ${MAX_INIT_SEGMENT_BYTES} bytes`;
    this.#filled = next.byteLength;
    return undefined;
  }
}

/** H.264 profiles every browser decodes (profile_idc): Baseline, Main, High. */
const PLAYABLE_AVC_PROFILES: ReadonlyMap<number, string> = new Map([
  [66, 'Baseline'],
  [77, 'Main'],
  [100, 'High'],
]);
const AVC_PROFILE_NAMES: ReadonlyMap<number, string> = new Map([
  [88, 'Extended'],
  [110, 'High 10'],
  [122, 'High 4:2:2'],
  [244, 'High 4:4:4 Predictive'],
  [44, 'CAVLC 4:4:4 Intra'],
]);

/**
 * Why an H.264 track (its `avc1.PPCCLL` from the CodecPrivate) would be stored and then fail in every player, or
 * undefined. ffmpeg's libx264 picks High 4:4:4 for RGB input unless told `-pix_fmt yuv420p`.
 */
function unplayableAvc(mseCodec: string | undefined): string | undefined {
  if (!mseCodec) return 'H.264 without its decoder configuration (no CodecPrivate): players cannot decode it';
  const profile = Number.parseInt(mseCodec.slice(5, 7), 16);
  if (PLAYABLE_AVC_PROFILES.has(profile)) return undefined;
  const name = AVC_PROFILE_NAMES.get(profile) ?? `profile_idc ${profile}`;
  return `H.264 ${name} does not play in browsers: encode Baseline, Main or High 4:2:0 (ffmpeg: -pix_fmt yuv420p -profile:v high)`;
}
