// The Matroska (WebM) element ids Baton reads by hand, with their length-marker bits, in one table: the file probe,
// seek index and duration, the live cluster index and continuation, the WHEP live reader and the pages' Matroska
// reader all name elements from here (the specification: https://www.matroska.org/technical/elements.html).

export const MatroskaId = {
  ebml: 0x1a45dfa3,
  docType: 0x4282,
  segment: 0x18538067,
  seekHead: 0x114d9b74,
  seek: 0x4dbb,
  seekId: 0x53ab,
  seekPosition: 0x53ac,
  info: 0x1549a966,
  timestampScale: 0x2ad7b1,
  duration: 0x4489,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  trackType: 0x83,
  codecId: 0x86,
  codecPrivate: 0x63a2,
  video: 0xe0,
  pixelWidth: 0xb0,
  pixelHeight: 0xba,
  audio: 0xe1,
  samplingFrequency: 0xb5,
  channels: 0x9f,
  cues: 0x1c53bb6b,
  cuePoint: 0xbb,
  cueTime: 0xb3,
  cueTrackPositions: 0xb7,
  cueTrack: 0xf7,
  cueClusterPosition: 0xf1,
  tags: 0x1254c367,
  chapters: 0x1043a770,
  attachments: 0x1941a469,
  cluster: 0x1f43b675,
  clusterTimestamp: 0xe7,
  simpleBlock: 0xa3,
  blockGroup: 0xa0,
  block: 0xa1,
  referenceBlock: 0xfb,
} as const;

/**
 * Elements that live directly in the Segment. Inside an unknown-size Cluster (what
 * MediaRecorder writes) the first of these ends the Cluster.
 */
export const SEGMENT_LEVEL_IDS: ReadonlySet<number> = new Set([
  MatroskaId.cluster,
  MatroskaId.cues,
  MatroskaId.tags,
  MatroskaId.chapters,
  MatroskaId.attachments,
  MatroskaId.seekHead,
  MatroskaId.info,
  MatroskaId.tracks,
]);
