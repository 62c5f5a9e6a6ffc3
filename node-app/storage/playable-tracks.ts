// Which tracks Baton plays: the one rule a broadcast's head (ingest) and a stored file (the catalog) are judged by.
import { AVC_CODEC_ID, type WebmProbe } from './webm-probe.js';

/**
 * Matroska CodecIDs a broadcast or a stored file may carry: what MediaRecorder writes and MSE plays in WebM, and H.264
 * (what OBS's WHIP output sends; stored as Matroska, played over WHEP — Chromium's MSE takes no H.264 in Matroska).
 */
export const ACCEPTED_CODEC_IDS: ReadonlySet<string> = new Set(['V_VP8', 'V_VP9', 'V_AV1', 'A_OPUS', 'A_VORBIS', AVC_CODEC_ID]);

/**
 * Why the tracks of a complete probe would fail in a player, or undefined when every one plays: none at all, a track
 * in a codec outside ACCEPTED_CODEC_IDS (one such track — AAC beside VP9, say — fails the whole stream in MSE, it is
 * not skipped), or H.264 in a profile browsers do not decode.
 */
export function unplayableTracks(probe: WebmProbe): string | undefined {
  if (probe.tracks.length === 0) return 'no tracks';
  const bad = probe.tracks.find((t) => !ACCEPTED_CODEC_IDS.has(t.codecId));
  if (bad) return `codec ${JSON.stringify(bad.codecId.slice(0, 32))} is not accepted (VP8, VP9, AV1, H.264, Opus, Vorbis)`;
  return probe.tracks.map((t) => (t.codecId === AVC_CODEC_ID ? unplayableAvc(t.mseCodec) : undefined)).find(Boolean);
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
