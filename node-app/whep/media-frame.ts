// One encoded frame of a WebM / Matroska asset, as WHEP sends it.

export type MediaKind = 'video' | 'audio';

export interface MediaFrame {
  kind: MediaKind;
  /** Presentation time, s, as in the file. */
  timestampS: number;
  data: Uint8Array;
  key: boolean;
}
